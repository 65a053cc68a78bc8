//! JSON encoded once, ahead of the statement that stores it: the group-commit writer's callers
//! encode their rows' JSON on their own tasks, so the writer's one thread only hands the text on
//! (shared, not copied, on SQLite; with the JSONB version byte on Postgres).

use std::sync::Arc;

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo};
use sqlx::types::Json;
use sqlx::{Encode, Postgres, Sqlite, Type};

/// A JSON value's text, bound as a JSON column's value on either backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonText(Arc<str>);

impl JsonText {
    /// `value` as JSON text.
    pub(crate) fn of(value: &serde_json::Value) -> Self {
        Self(value.to_string().into())
    }
}

impl Type<Sqlite> for JsonText {
    fn type_info() -> SqliteTypeInfo {
        <str as Type<Sqlite>>::type_info()
    }
}

impl Encode<'_, Sqlite> for JsonText {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode(Arc::clone(&self.0), buf)
    }
}

impl Type<Postgres> for JsonText {
    fn type_info() -> PgTypeInfo {
        <Json<()> as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for JsonText {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        // JSONB's binary form: a version byte (1), then the text
        buf.push(1);
        buf.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }
}
