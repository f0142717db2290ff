//! How the tools in this crate (`replay`, `loadgen`) reach a server: the
//! address, an optional bearer token, and for `https://` addresses the CA
//! that signed the server's certificate.

use crate::{pb::call_assist_service_client::CallAssistServiceClient, Error};
use std::path::PathBuf;
use tonic::{
    metadata::{Ascii, MetadataValue},
    service::{interceptor::InterceptedService, Interceptor},
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint},
    Request, Status,
};

/// Where and as whom to connect; also the `--addr`, `--token` and `--ca`
/// flags of the commands that connect.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Target {
    /// Server address: `http://host:port`, or `https://host:port` for TLS.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub addr: String,
    /// Bearer token for servers with `tenants` (also CALLASSIST_TOKEN).
    #[arg(long, env = "CALLASSIST_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// PEM CA certificate that signed the server's (https:// addresses; the
    /// system roots are not used).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

/// Adds `authorization: Bearer <token>` to every request.
#[derive(Debug, Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert(crate::grpc::auth::AUTHORIZATION, value.clone());
        }
        Ok(request)
    }
}

/// A client of the service as the tools use it.
pub type Client = CallAssistServiceClient<InterceptedService<Channel, Bearer>>;

impl Target {
    /// The endpoint (with TLS for `https://`), not yet connected.
    pub fn endpoint(&self) -> Result<Endpoint, Error> {
        let mut endpoint = Endpoint::from_shared(self.addr.clone())
            .map_err(|e| Error::Config(format!("addr {:?}: {e}", self.addr)))?
            .tcp_nodelay(true);
        if self.addr.starts_with("https://") {
            let mut tls = ClientTlsConfig::new();
            if let Some(ca) = &self.ca {
                let pem = std::fs::read(ca)
                    .map_err(|e| Error::Config(format!("ca {}: {e}", ca.display())))?;
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| Error::Config(format!("tls: {e}")))?;
        }
        Ok(endpoint)
    }

    /// A client over `channel` that sends the token.
    pub fn client(&self, channel: Channel) -> Result<Client, Error> {
        let token = match &self.token {
            Some(token) => Some(
                format!("Bearer {token}")
                    .parse()
                    .map_err(|_| Error::Config("token: not valid in a header".into()))?,
            ),
            None => None,
        };
        Ok(CallAssistServiceClient::with_interceptor(
            channel,
            Bearer(token),
        ))
    }

    /// Connects one client.
    pub async fn connect(&self) -> Result<Client, Error> {
        let channel = self
            .endpoint()?
            .connect()
            .await
            .map_err(|e| Error::Io(format!("cannot connect to {}: {e}", self.addr)))?;
        self.client(channel)
    }
}

/// Whether the server at `target` reports `service` as SERVING on the gRPC
/// health protocol (no token needed).
pub async fn health(target: &Target, service: &str) -> Result<bool, Error> {
    use tonic_health::pb::{
        health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
    };
    let addr = &target.addr;
    let channel = target
        .endpoint()?
        .timeout(std::time::Duration::from_secs(3))
        .connect()
        .await
        .map_err(|e| Error::Io(format!("cannot connect to {addr}: {e}")))?;
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_string(),
        })
        .await
        .map_err(|e| Error::Io(format!("health check: {}", e.message())))?;
    Ok(response.into_inner().status == ServingStatus::Serving as i32)
}
