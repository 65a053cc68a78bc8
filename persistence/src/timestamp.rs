//! [`Timestamp`]: the one time type of stored rows. Postgres keeps it as `timestamptz`; SQLite as
//! fixed-width UTC text (`2026-11-25T21:41:23.288557Z`, always six fractional digits) so that text
//! comparison and `ORDER BY` agree with time order on both backends. Values carry microsecond
//! precision, what both store, so a value written and read back compares equal.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// The text form SQLite stores, as a format description.
const SORTABLE: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// A UTC instant with microsecond precision.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        Self::from_offset(OffsetDateTime::now_utc())
    }

    /// `at` in UTC, truncated to microseconds.
    pub fn from_offset(at: OffsetDateTime) -> Self {
        let utc = at.to_offset(UtcOffset::UTC);
        Self(utc.replace_nanosecond(utc.nanosecond() / 1_000 * 1_000).unwrap_or(utc))
    }

    /// The instant as a `time` value, for arithmetic and calendar work.
    pub fn as_offset(self) -> OffsetDateTime {
        self.0
    }

    /// Nanoseconds since the Unix epoch (a multiple of 1000).
    pub fn unix_nanos(self) -> i128 {
        self.0.unix_timestamp_nanos()
    }

    /// The fixed-width text form SQLite stores. Written digit by digit: every stored row has a few
    /// timestamps, and this is several times cheaper than interpreting the format description
    /// (which stays the reference, and the way for years outside 0000–9999).
    fn to_sortable_text(self) -> String {
        let (year, month, day) = self.0.to_calendar_date();
        let Ok(year) = u32::try_from(year) else { return self.formatted() };
        if year > 9999 {
            return self.formatted();
        }
        let (hour, minute, second, micro) = self.0.to_hms_micro();
        let mut text = *b"0000-00-00T00:00:00.000000Z";
        for (digits, value) in [
            (0..4, year),
            (5..7, u32::from(u8::from(month))),
            (8..10, u32::from(day)),
            (11..13, u32::from(hour)),
            (14..16, u32::from(minute)),
            (17..19, u32::from(second)),
            (20..26, micro),
        ] {
            let mut rest = value;
            for digit in text[digits].iter_mut().rev() {
                *digit = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
        }
        text.iter().copied().map(char::from).collect()
    }

    /// [`Self::to_sortable_text`] through the format description.
    fn formatted(self) -> String {
        self.0.format(SORTABLE).unwrap_or_else(|_| self.0.to_string())
    }

    fn parse(text: &str) -> Result<Self, time::error::Parse> {
        OffsetDateTime::parse(text, &Rfc3339).map(Self::from_offset)
    }
}

impl std::ops::Add<time::Duration> for Timestamp {
    type Output = Timestamp;

    fn add(self, rhs: time::Duration) -> Timestamp {
        Self::from_offset(self.0.checked_add(rhs).unwrap_or(self.0))
    }
}

impl std::ops::Sub<time::Duration> for Timestamp {
    type Output = Timestamp;

    fn sub(self, rhs: time::Duration) -> Timestamp {
        Self::from_offset(self.0.checked_sub(rhs).unwrap_or(self.0))
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(at: OffsetDateTime) -> Self {
        Self::from_offset(at)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_sortable_text())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_sortable_text())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_sortable_text())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Type<Sqlite> for Timestamp {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for Timestamp {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode(self.to_sortable_text(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Timestamp {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(Self::parse(text)?)
    }
}

impl Type<Postgres> for Timestamp {
    fn type_info() -> PgTypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <OffsetDateTime as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for Timestamp {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Postgres>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for Timestamp {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self::from_offset(<OffsetDateTime as Decode<Postgres>>::decode(value)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_order_is_time_order() {
        let base = OffsetDateTime::from_unix_timestamp(1_764_000_005).unwrap();
        let whole = Timestamp::from_offset(base);
        let half = Timestamp::from_offset(base + time::Duration::milliseconds(500));
        assert!(whole < half);
        assert!(whole.to_sortable_text() < half.to_sortable_text());
        assert_eq!(whole.to_sortable_text(), "2025-11-24T16:00:05.000000Z");
    }

    #[test]
    fn the_written_text_is_the_formatted_text() {
        let mut seconds: i64 = -62_167_219_200; // 0000-01-01
        while seconds < 253_402_300_800 {
            // 9999-12-31 and a little
            for micros in [0, 7, 999_999, 123_456] {
                let at = Timestamp::from_offset(
                    OffsetDateTime::from_unix_timestamp(seconds).unwrap() + time::Duration::microseconds(micros),
                );
                assert_eq!(at.to_sortable_text(), at.formatted(), "{seconds} s {micros} µs");
            }
            seconds += 86_400 * 97 + 3_727;
        }
        let now = Timestamp::now();
        assert_eq!(now.to_sortable_text(), now.formatted());
    }

    #[test]
    fn serde_roundtrip_keeps_microseconds() {
        let at = Timestamp::now();
        let json = serde_json::to_string(&at).unwrap();
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), at);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }
}
