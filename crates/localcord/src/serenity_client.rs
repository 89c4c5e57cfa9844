//! Ready-made serenity clients pointed at the local server, so nobody has to rediscover the
//! facts in DESIGN.md: the proxy URL only works with serenity's rate limiter off; to keep the
//! rate limiter, serve HTTPS with a test CA and resolve discord.com to it.

use serenity::all::{ApplicationId, ClientBuilder, GatewayIntents};
use serenity::http::{Http, HttpBuilder};

use crate::{LocalDiscord, LocalcordError};

impl LocalDiscord {
    /// A serenity `Http` using the proxy URL (`http://127.0.0.1:PORT`), rate limiter disabled.
    pub fn serenity_http(&self) -> Http {
        HttpBuilder::new(self.bot_token())
            .proxy(self.http_url())
            .ratelimiter_disabled(true)
            .application_id(ApplicationId::new(self.application_id()))
            .build()
    }

    /// `ClientBuilder::new_with_http(self.serenity_http(), intents)`: add an event handler
    /// (or a poise framework) and `.await` it.
    pub fn serenity_client(&self, intents: GatewayIntents) -> ClientBuilder {
        ClientBuilder::new_with_http(self.serenity_http(), intents)
    }

    /// A reqwest 0.12 client (serenity's own version) that sends `https://discord.com` to this
    /// server's HTTPS listener and trusts its test CA.
    pub fn https_reqwest_client(&self) -> Result<reqwest::Client, LocalcordError> {
        let (addr, ca_pem) = match (self.https_addr(), self.ca_pem()) {
            (Some(addr), Some(pem)) => (addr, pem),
            _ => return Err(LocalcordError::NoTls),
        };
        let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes())?;
        Ok(reqwest::Client::builder()
            .use_rustls_tls()
            .resolve("discord.com", addr)
            .add_root_certificate(ca)
            .build()?)
    }

    /// A serenity `Http` over real HTTPS to this server with serenity's rate limiter ON
    /// (it honours 429 `Retry-After` from the server). Needs [`LocalDiscord::start_with_tls`].
    pub fn serenity_https_http(&self) -> Result<Http, LocalcordError> {
        Ok(HttpBuilder::new(self.bot_token())
            .client(self.https_reqwest_client()?)
            .application_id(ApplicationId::new(self.application_id()))
            .build())
    }

    /// `ClientBuilder` over [`LocalDiscord::serenity_https_http`].
    pub fn serenity_https_client(
        &self,
        intents: GatewayIntents,
    ) -> Result<ClientBuilder, LocalcordError> {
        Ok(ClientBuilder::new_with_http(
            self.serenity_https_http()?,
            intents,
        ))
    }
}
