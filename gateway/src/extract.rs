//! Request extractors whose rejections are [`ApiError`]s, so malformed JSON, a wrong type, a bad
//! id in the path or query answer the documented error shape instead of axum's plain text.

use axum::extract::{FromRequest, FromRequestParts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::ApiError;
use aos_api::ErrorCode;

/// A JSON body (`axum::Json` with [`ApiError`] rejections); also a JSON response.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters (`axum::extract::Path` with [`ApiError`] rejections).
#[derive(Debug, Clone, Copy, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query parameters (`axum::extract::Query` with [`ApiError`] rejections).
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// An optional JSON body: an empty body is `None`; anything else must parse as `T` (malformed
/// JSON and wrong types are refused as for [`ApiJson`]).
#[derive(Debug, Clone, Default)]
pub struct MaybeJson<T>(pub Option<T>);

impl<T, S> FromRequest<S> for MaybeJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        serde_json::from_slice(&bytes).map(|value| Self(Some(value))).map_err(|err| {
            let code = match err.classify() {
                serde_json::error::Category::Data => ErrorCode::InvalidBody,
                _ => ErrorCode::MalformedJson,
            };
            ApiError::refused(code, err.to_string())
        })
    }
}
