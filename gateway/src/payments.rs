//! Taking payment for credit top-ups behind a [`PaymentProvider`] trait. Only
//! [`TestPaymentProvider`] exists today (deterministic, no network): a real provider plugs in
//! with the same trait.

use aos_schema::OrgId;

use crate::graph_writer::BoxFuture;

/// A charge the provider made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// The provider's id for the charge: the ledger reference, so a retried top-up adds once.
    pub id: String,
    pub amount_micros: i64,
}

/// Why a charge was not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("the payment was declined")]
    Declined,
    #[error("the payment provider is unavailable")]
    Unavailable,
}

/// Charges a payment method.
pub trait PaymentProvider: std::fmt::Debug + Send + Sync {
    /// Charges `amount_micros` to the method `payment_token` for `org`. `idempotency_key` makes
    /// a retried charge return the first one.
    fn charge<'a>(
        &'a self,
        org: OrgId,
        amount_micros: i64,
        payment_token: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<Charge, PaymentError>>;
}

/// A provider for development and tests: `tok_test_…` tokens succeed, `tok_declined` is declined,
/// anything else is declined too. The charge id is derived from the idempotency key.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestPaymentProvider;

impl PaymentProvider for TestPaymentProvider {
    fn charge<'a>(
        &'a self,
        org: OrgId,
        amount_micros: i64,
        payment_token: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<Charge, PaymentError>> {
        Box::pin(async move {
            if !payment_token.starts_with("tok_test_") {
                return Err(PaymentError::Declined);
            }
            Ok(Charge { id: format!("test_ch_{org}_{idempotency_key}"), amount_micros })
        })
    }
}
