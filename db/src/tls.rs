//! TLS to PostgreSQL, verified against a private CA (`db.tls_ca_file`, issue 20).
//!
//! tokio-postgres knows only `disable`, `prefer` and `require`; `prefer` may fall back to plain
//! text, so with a CA configured the connection is `require`, and rustls, trusting only that CA,
//! checks the chain and the name (`db.host`) against the certificate's SANs: together that is
//! libpq's `verify-full`. SCRAM then binds to the TLS channel (`channel_binding=require`), so a
//! proxy that terminated TLS could not replay the password exchange. Without a CA nothing
//! changes: no TLS, exactly as before.

use std::{error::Error as _, fs, io, path::Path, sync::Arc};

use rustls::{
    ClientConfig, RootCertStore,
    pki_types::{CertificateDer, pem::PemObject},
};
use tokio_postgres::{
    Client, NoTls,
    config::{ChannelBinding, SslMode},
};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::DbConfig;

/// How the pools and the migrator open connections: plain, or TLS verified against a CA.
#[derive(Clone)]
pub enum Connector {
    Plain,
    Verified(MakeRustlsConnect),
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Plain => "Connector::Plain",
            Self::Verified(_) => "Connector::Verified",
        })
    }
}

impl Connector {
    /// The connector for `cfg`: TLS when `db.tls_ca_file` is set. A CA file that cannot be read
    /// or holds no certificate is an error here, at start-up, not at the first query.
    pub fn for_config(cfg: &DbConfig) -> Result<Self, String> {
        match &cfg.tls_ca_file {
            None => Ok(Self::Plain),
            Some(path) => verified(path).map(Self::Verified),
        }
    }

    /// Opens one connection and drives it on a task (the handle, to abort it when done).
    pub async fn connect(
        &self,
        pg: &tokio_postgres::Config,
    ) -> Result<(Client, tokio::task::JoinHandle<()>), tokio_postgres::Error> {
        fn drive<F>(connection: F) -> tokio::task::JoinHandle<()>
        where
            F: std::future::Future<Output = Result<(), tokio_postgres::Error>> + Send + 'static,
        {
            tokio::spawn(async move {
                if let Err(err) = connection.await {
                    tracing::debug!(error = %describe(&err), "connection ended");
                }
            })
        }
        match self {
            Self::Plain => {
                let (client, connection) = pg.connect(NoTls).await?;
                Ok((client, drive(connection)))
            }
            Self::Verified(tls) => {
                let (client, connection) = pg.connect(tls.clone()).await?;
                Ok((client, drive(connection)))
            }
        }
    }
}

/// Sets `require` and channel binding on a driver configuration when TLS is configured.
pub(crate) fn apply(cfg: &DbConfig, pg: &mut tokio_postgres::Config) {
    if cfg.tls_ca_file.is_some() {
        pg.ssl_mode(SslMode::Require)
            .channel_binding(ChannelBinding::Require);
    }
}

fn verified(path: &Path) -> Result<MakeRustlsConnect, String> {
    let shown = path.display();
    let pem = fs::read(path).map_err(|e| format!("db.tls_ca_file {shown}: cannot read it: {e}"))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert =
            cert.map_err(|e| format!("db.tls_ca_file {shown}: not a PEM certificate: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("db.tls_ca_file {shown}: unusable certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("db.tls_ca_file {shown}: holds no certificate"));
    }
    // The provider is named rather than taken from the process default, which depends on the
    // rustls features other crates of the binary enable (two backends: no default at all).
    let config = ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS set-up for PostgreSQL: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

const TLS_KIND: &str = "error performing TLS handshake";

/// If `err` is PostgreSQL's TLS refused for good, why: the certificate's problem as rustls
/// names it (unknown issuer = another CA, not valid for name = wrong host, expired), or a
/// server that does not speak TLS. Retrying cannot help. A socket that broke during the
/// handshake (a failover) is not a refusal: it stays a lost connection, retried.
pub fn tls_refusal(err: &tokio_postgres::Error) -> Option<String> {
    if !err.to_string().starts_with(TLS_KIND) {
        return None;
    }
    let cause = err.source()?;
    if let Some(io) = cause.downcast_ref::<io::Error>() {
        return io
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
            .map(ToString::to_string);
    }
    Some(cause.to_string())
}

/// A driver error as one line. The driver's own text for TLS is only "error performing TLS
/// handshake"; this names PostgreSQL, the reason and where the trust comes from.
pub fn describe(err: &tokio_postgres::Error) -> String {
    if let Some(reason) = tls_refusal(err) {
        return format!(
            "PostgreSQL refused over TLS: {reason} (its certificate is checked against \
             db.tls_ca_file for the name in db.host; there is no fallback to plain text)"
        );
    }
    match err.source() {
        Some(cause) if err.to_string().starts_with(TLS_KIND) => {
            format!("PostgreSQL TLS handshake broke off: {cause}")
        }
        _ => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_refused_at_start() {
        let missing = DbConfig {
            tls_ca_file: Some("/nonexistent/ca.crt".into()),
            ..DbConfig::default()
        };
        let err = Connector::for_config(&missing).expect_err("missing file");
        assert!(
            err.contains("db.tls_ca_file") && err.contains("cannot read"),
            "{err}"
        );

        let dir = std::env::temp_dir().join(format!("lyceum-tls-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        let empty = dir.join("empty.crt");
        fs::write(&empty, "not a certificate\n").expect("write");
        let cfg = DbConfig {
            tls_ca_file: Some(empty),
            ..DbConfig::default()
        };
        let err = Connector::for_config(&cfg).expect_err("no certificate");
        assert!(err.contains("holds no certificate"), "{err}");
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn without_a_ca_nothing_changes() {
        let cfg = DbConfig::default();
        assert!(matches!(Connector::for_config(&cfg), Ok(Connector::Plain)));
        let pg = cfg.pg_config(cfg.write_port);
        assert_eq!(pg.get_ssl_mode(), SslMode::Prefer);
    }
}
