//! Configuration from the usual AWS places (through `aws-config`), and a
//! credentials cache that refreshes expiring credentials.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_types::service_config::ServiceConfigKey;
use s3ec_client::transport::{ErrorKind, TransportError};

/// Credentials this close to their expiry are refreshed before use.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// A small runtime for `aws-config`'s async providers.
pub(crate) fn runtime() -> Result<Arc<tokio::runtime::Runtime>, TransportError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(Arc::new)
        .map_err(|e| {
            let mut err = TransportError::new(
                ErrorKind::Other,
                "cannot start a runtime for the AWS credential providers",
            );
            err.source = Some(Box::new(e));
            err
        })
}

/// What the environment says (each part optional).
#[derive(Debug, Default)]
pub(crate) struct EnvConfig {
    pub(crate) region: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) credentials: Option<SharedCredentialsProvider>,
}

/// Resolve region, S3 endpoint and the credentials provider chain the way
/// the AWS SDKs do: environment variables, then the shared config and
/// credentials files (`AWS_PROFILE` or `profile`), then web identity,
/// containers and instance metadata.
pub(crate) fn load_env(rt: &tokio::runtime::Runtime, profile: Option<&str>) -> EnvConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    let sdk = rt.block_on(loader.load());
    // `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL`, then the profile's
    // `services` section and `endpoint_url` (unless
    // `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` says not to).
    let endpoint = ServiceConfigKey::builder()
        .service_id("S3")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()
        .and_then(|key| sdk.service_config().and_then(|c| c.load_config(key)))
        .or_else(|| sdk.endpoint_url().map(str::to_string))
        .filter(|e| !e.is_empty());
    EnvConfig {
        region: sdk.region().map(|r| r.to_string()),
        endpoint,
        credentials: sdk.credentials_provider(),
    }
}

/// Where signing credentials come from.
pub(crate) enum CredentialSource {
    /// Fixed credentials.
    Static(Credentials),
    /// A provider (chain), cached until close to expiry.
    Provider(ProviderCache),
}

impl std::fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // `Credentials`' Debug redacts the secret.
            CredentialSource::Static(c) => f.debug_tuple("Static").field(c).finish(),
            CredentialSource::Provider(p) => f
                .debug_struct("Provider")
                .field("provider", &p.provider)
                .finish_non_exhaustive(),
        }
    }
}

/// A credentials provider with a cache.
pub(crate) struct ProviderCache {
    provider: SharedCredentialsProvider,
    rt: Arc<tokio::runtime::Runtime>,
    cached: Mutex<Option<Credentials>>,
}

impl ProviderCache {
    pub(crate) fn new(
        provider: SharedCredentialsProvider,
        rt: Arc<tokio::runtime::Runtime>,
    ) -> ProviderCache {
        ProviderCache {
            provider,
            rt,
            cached: Mutex::new(None),
        }
    }
}

fn fresh(c: &Credentials, now: SystemTime) -> bool {
    match c.expiry() {
        None => true,
        Some(exp) => now + REFRESH_BEFORE_EXPIRY < exp,
    }
}

impl CredentialSource {
    /// Credentials to sign with now.
    pub(crate) fn get(&self) -> Result<Credentials, TransportError> {
        match self {
            CredentialSource::Static(c) => Ok(c.clone()),
            CredentialSource::Provider(p) => {
                let mut cached = p.cached.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(c) = cached.as_ref() {
                    if fresh(c, SystemTime::now()) {
                        return Ok(c.clone());
                    }
                }
                let got =
                    p.rt.block_on(p.provider.provide_credentials())
                        .map_err(|e| {
                            let mut err = TransportError::new(
                                ErrorKind::Other,
                                format!(
                                    "no AWS credentials: {e} (set AWS_ACCESS_KEY_ID and \
                                 AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a shared \
                                 credentials file)"
                                ),
                            );
                            err.source = Some(Box::new(e));
                            err
                        })?;
                *cached = Some(got.clone());
                Ok(got)
            }
        }
    }

    /// Forget cached credentials (S3 said they expired).
    pub(crate) fn invalidate(&self) -> bool {
        match self {
            CredentialSource::Static(_) => false,
            CredentialSource::Provider(p) => {
                *p.cached.lock().unwrap_or_else(|e| e.into_inner()) = None;
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::future;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Debug)]
    struct Counting {
        calls: Arc<AtomicU32>,
        lifetime: Duration,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            future::ProvideCredentials::ready(Ok(Credentials::new(
                format!("AKID{n}"),
                "secret",
                Some("token".into()),
                Some(SystemTime::now() + self.lifetime),
                "test",
            )))
        }
    }

    fn source(lifetime: Duration) -> (CredentialSource, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        let provider = SharedCredentialsProvider::new(Counting {
            calls: calls.clone(),
            lifetime,
        });
        let rt = match runtime() {
            Ok(rt) => rt,
            Err(e) => unreachable!("{e}"),
        };
        (
            CredentialSource::Provider(ProviderCache::new(provider, rt)),
            calls,
        )
    }

    fn akid(s: &CredentialSource) -> String {
        match s.get() {
            Ok(c) => c.access_key_id().to_string(),
            Err(e) => unreachable!("{e}"),
        }
    }

    #[test]
    fn cached_until_close_to_expiry() {
        let (s, calls) = source(Duration::from_secs(3600));
        assert_eq!(akid(&s), "AKID0");
        assert_eq!(akid(&s), "AKID0");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(s.invalidate());
        assert_eq!(akid(&s), "AKID1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn expiring_credentials_are_refreshed() {
        let (s, calls) = source(Duration::from_secs(60));
        assert_eq!(akid(&s), "AKID0");
        assert_eq!(akid(&s), "AKID1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let st = CredentialSource::Static(Credentials::new("A", "B", None, None, "t"));
        assert!(!st.invalidate());
        assert!(!format!("{st:?}").contains("\"B\""));
    }
}
