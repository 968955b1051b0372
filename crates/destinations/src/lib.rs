//! Destination types: their metadata, the validation and preprocessing the API runs when a
//! destination is created or changed, and how a destination is displayed (credential
//! obfuscation, `target`, `target_url`).
//!
//! The senders that deliver events live with the delivery service; this crate has no cloud SDK.
#![warn(missing_docs)]

pub mod delivery_metadata;
pub mod display;
pub mod hookdeck;
pub mod metadata;
pub mod types;
pub mod validate;
pub mod webhook;

use metadata::TypeMetadata;
use outpost_core::destination::Destination;
use outpost_core::template::Template;
use std::path::Path;

/// Why a destination was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestError {
    /// Field-level problems: 422 `validation error` with these messages as `data`.
    #[error("validation error")]
    Validation(Vec<String>),
    /// A whole-request problem: 422 with this message.
    #[error("{0}")]
    Message(String),
}

impl DestError {
    /// A single field error such as `config.url is required`.
    pub fn field(msg: impl Into<String>) -> Self {
        Self::Validation(vec![msg.into()])
    }
}

/// Who is making the change: tenants may not touch webhook secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Admin API key.
    Admin,
    /// Tenant JWT.
    Tenant,
}

/// Settings the registry needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Standard Webhooks mode.
    pub standard_webhooks: bool,
    /// Template of generated webhook secrets (default mode).
    pub signing_secret_template: String,
    /// Folder of metadata overrides.
    pub metadata_path: std::path::PathBuf,
    /// Base URL of Hookdeck's API (token verification).
    pub hookdeck_api_url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            standard_webhooks: false,
            signing_secret_template: "whsec_{{.RandomHex}}".into(),
            metadata_path: "config/outpost/destinations".into(),
            hookdeck_api_url: hookdeck::DEFAULT_API_URL.into(),
        }
    }
}

/// The destination types known to this deployment, and their rules.
pub struct Registry {
    types: Vec<TypeMetadata>,
    secret_template: Template,
    standard_webhooks: bool,
    hookdeck: hookdeck::Verifier,
}

impl Registry {
    /// Loads metadata (with overrides) and compiles the secret template.
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let types = metadata::load(
            settings.standard_webhooks,
            Path::new(&settings.metadata_path),
        )?;
        let secret_template = Template::parse(&settings.signing_secret_template)
            .map_err(|e| format!("DESTINATIONS_WEBHOOK_SIGNING_SECRET_TEMPLATE: {e}"))?;
        Ok(Self {
            types,
            secret_template,
            standard_webhooks: settings.standard_webhooks,
            hookdeck: hookdeck::Verifier::new(&settings.hookdeck_api_url),
        })
    }

    /// All types in registration order.
    pub fn types(&self) -> &[TypeMetadata] {
        &self.types
    }

    /// One type's metadata.
    pub fn get_type(&self, kind: &str) -> Option<&TypeMetadata> {
        self.types.iter().find(|t| t.kind == kind)
    }

    /// Whether webhooks speak Standard Webhooks.
    pub fn standard_webhooks(&self) -> bool {
        self.standard_webhooks
    }

    /// Validates config and credentials against the type's metadata and rules.
    pub fn validate(&self, dest: &Destination) -> Result<(), DestError> {
        let meta = self.get_type(&dest.kind).ok_or_else(|| {
            DestError::Message(format!(
                "no provider registered for destination type: {}",
                dest.kind
            ))
        })?;
        let mut errors = validate::against_metadata(meta, dest);
        errors.extend(match dest.kind.as_str() {
            "webhook" => webhook::validate(dest, self.standard_webhooks),
            "hookdeck" => hookdeck::validate(dest),
            other => types::validate(other, dest),
        });
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DestError::Validation(errors))
        }
    }

    /// Runs the type's preprocessing: generated secrets, rotation, normalisation, Hookdeck
    /// token verification. `original` is the stored destination on update.
    pub async fn preprocess(
        &self,
        dest: &mut Destination,
        original: Option<&Destination>,
        role: Role,
    ) -> Result<(), DestError> {
        let kind = dest.kind.clone();
        match kind.as_str() {
            "webhook" => webhook::preprocess(
                dest,
                original,
                role,
                self.standard_webhooks,
                &self.secret_template,
            ),
            "hookdeck" => self.hookdeck.preprocess(dest, original).await,
            other => {
                types::normalize(other, dest);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod registry_tests;
