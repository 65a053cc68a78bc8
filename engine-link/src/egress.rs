//! Outbound HTTP for nodes, guarded against server-side request forgery: requests to loopback,
//! private, link-local and other non-public addresses are refused unless the operator allows the
//! host or network (`AOS_EGRESS_ALLOW`, comma-separated hosts or CIDRs). The check happens at DNS
//! resolution (so a name that resolves to a private address is caught, rebinding included) and on
//! every redirect hop; URLs with a literal IP are checked before sending.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::protocol::StepError;

/// Which otherwise-refused destinations an operator allows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    hosts: Vec<String>,
    nets: Vec<IpNet>,
}

/// A malformed allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("egress allow-list entry {entry:?} is neither a host name nor a CIDR")]
pub struct EgressPolicyError {
    pub entry: String,
}

impl EgressPolicy {
    /// Only public destinations.
    pub fn public_only() -> Self {
        Self::default()
    }

    /// Parses `host, host, 10.0.0.0/8, 127.0.0.1` (a bare IP is a /32 or /128).
    pub fn parse(spec: &str) -> Result<Self, EgressPolicyError> {
        let mut policy = Self::default();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if let Ok(net) = IpNet::from_str(entry) {
                policy.nets.push(net);
            } else if let Ok(ip) = IpAddr::from_str(entry) {
                policy.nets.push(IpNet::from(ip));
            } else if entry.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
                policy.hosts.push(entry.to_ascii_lowercase());
            } else {
                return Err(EgressPolicyError { entry: entry.to_owned() });
            }
        }
        Ok(policy)
    }

    /// Whether `host` is allowed by name, whatever it resolves to.
    fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// Whether an address may be contacted.
    pub fn ip_allowed(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.nets.iter().any(|net| net.contains(&ip))
    }

    /// Checks a URL before it is requested: scheme, and literal IPs.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), StepError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(StepError::permanent("egress_refused", format!("scheme {:?} is not allowed", url.scheme())));
        }
        let host = url.host_str().unwrap_or_default();
        if self.host_allowed(host) {
            return Ok(());
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = IpAddr::from_str(bare)
            && !self.ip_allowed(ip)
        {
            return Err(refused(host));
        }
        Ok(())
    }

    /// Resolves `host:port` for a protocol other than HTTP (SMTP) and keeps the addresses the
    /// policy allows, by the same rules as HTTP requests. Connect to the returned addresses, not to
    /// the name again, so a second lookup cannot rebind to a refused address.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, StepError> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
            .await
            .map_err(|_| StepError::retryable("connect_failed", format!("could not resolve {host}")))?
            .collect();
        if addrs.is_empty() {
            return Err(StepError::retryable("connect_failed", format!("{host} has no address")));
        }
        if self.host_allowed(bare) {
            return Ok(addrs);
        }
        let allowed: Vec<SocketAddr> = addrs.into_iter().filter(|a| self.ip_allowed(a.ip())).collect();
        if allowed.is_empty() {
            return Err(refused(host));
        }
        Ok(allowed)
    }
}

fn refused(host: &str) -> StepError {
    StepError::permanent(
        "egress_refused",
        format!(
            "requests to {host} are refused: it is a loopback, private or link-local address (allow it with AOS_EGRESS_ALLOW)"
        ),
    )
}

/// Whether an address is on the public internet.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
        }
    }
}

/// Resolves names with the system resolver and drops addresses the policy refuses.
#[derive(Debug)]
struct GuardedResolver {
    policy: EgressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if policy.host_allowed(&host) {
                return Ok(Box::new(addrs.into_iter()) as Addrs);
            }
            let allowed: Vec<SocketAddr> = addrs.into_iter().filter(|a| policy.ip_allowed(a.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(refused(&host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// An HTTP client that only reaches what the policy allows.
#[derive(Debug, Clone)]
pub struct GuardedClient {
    client: reqwest::Client,
    policy: Arc<EgressPolicy>,
}

/// Default limit on one outbound request, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl GuardedClient {
    pub fn new(policy: EgressPolicy) -> Result<Self, reqwest::Error> {
        install_crypto_provider();
        let redirect_policy = policy.clone();
        let client = reqwest::Client::builder()
            .dns_resolver(GuardedResolver { policy: policy.clone() })
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 5 {
                    attempt.error("too many redirects")
                } else if redirect_policy.check_url(attempt.url()).is_err() {
                    attempt.error("redirect to a refused address")
                } else {
                    attempt.follow()
                }
            }))
            .connect_timeout(Duration::from_secs(10))
            .timeout(REQUEST_TIMEOUT)
            .no_proxy()
            .user_agent(concat!("AutomateOS/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, policy: Arc::new(policy) })
    }

    /// A request builder for `url`, after the URL itself passed the policy.
    pub fn request(&self, method: reqwest::Method, url: &str) -> Result<reqwest::RequestBuilder, StepError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|err| StepError::bad_config("url", format!("is not a valid URL: {err}")))?;
        self.policy.check_url(&parsed)?;
        Ok(self.client.request(method, parsed))
    }

    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }
}

/// reqwest is built without a default TLS crypto provider; install ring once per process.
pub fn install_crypto_provider() {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}

/// Maps a transport error to a step error: timeouts and connection failures are worth a retry,
/// a refused destination is not.
pub fn transport_error(err: &reqwest::Error) -> StepError {
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(current) = source {
        if let Some(step) = current.downcast_ref::<StepError>() {
            return step.clone();
        }
        source = current.source();
    }
    if err.is_timeout() {
        StepError::retryable("timeout", "the request timed out")
    } else if err.is_connect() {
        StepError::retryable("connect_failed", "could not connect to the service")
    } else if err.is_builder() {
        StepError::permanent("bad_request", "the request could not be built from the config")
    } else if err.is_redirect() {
        StepError::permanent("bad_redirect", "the service redirected somewhere refused or too often")
    } else {
        StepError::retryable("transport", "the request failed in transit")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_loopback_addresses_are_refused_unless_allowed() {
        let policy = EgressPolicy::public_only();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.169.254",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "100.64.0.1",
            "0.0.0.0",
        ] {
            assert!(!policy.ip_allowed(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(policy.ip_allowed(ip.parse().unwrap()), "{ip}");
        }
        let allowed = EgressPolicy::parse("127.0.0.1, 10.0.0.0/8, hooks.internal").unwrap();
        assert!(allowed.ip_allowed("127.0.0.1".parse().unwrap()));
        assert!(allowed.ip_allowed("10.9.9.9".parse().unwrap()));
        assert!(!allowed.ip_allowed("192.168.0.1".parse().unwrap()));
        assert!(allowed.host_allowed("HOOKS.internal"));
        assert!(EgressPolicy::parse("not a host!").is_err());
    }

    #[test]
    fn literal_ip_urls_and_odd_schemes_are_checked_before_sending() {
        let policy = EgressPolicy::public_only();
        let check = |u: &str| policy.check_url(&reqwest::Url::parse(u).unwrap());
        assert_eq!(check("http://127.0.0.1:8080/x").unwrap_err().code, "egress_refused");
        assert_eq!(check("http://[::1]/x").unwrap_err().code, "egress_refused");
        assert_eq!(check("file:///etc/passwd").unwrap_err().code, "egress_refused");
        assert!(check("https://slack.com/api/chat.postMessage").is_ok());
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused() {
        let client = GuardedClient::new(EgressPolicy::public_only()).unwrap();
        let err = client.request(reqwest::Method::GET, "http://localhost:9/").unwrap().send().await.unwrap_err();
        let step = transport_error(&err);
        assert_eq!(step.code, "egress_refused", "{step:?}");
        assert!(!step.is_retryable());
    }
}
