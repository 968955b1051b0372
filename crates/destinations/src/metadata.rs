//! Destination type metadata served by `GET /destination-types`: the ten embedded definitions
//! and the operator's per-type overrides from `DESTINATIONS_METADATA_PATH`.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// One form field of a destination type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// `text`, `checkbox`, `key_value_map` or `select`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Form label.
    pub label: String,
    /// Help text.
    pub description: String,
    /// Key in `config` or `credentials`.
    pub key: String,
    /// Whether a non-empty value is required.
    pub required: bool,
    /// Default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Read-only in forms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Obfuscated in API output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive: Option<bool>,
    /// Numeric minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Numeric maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Numeric step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// Minimum length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minlength: Option<usize>,
    /// Maximum length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxlength: Option<usize>,
    /// Regular expression the value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Choices of a `select`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<SelectOption>>,
}

/// A choice of a `select` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectOption {
    /// Shown text.
    pub label: String,
    /// Stored value.
    pub value: String,
}

/// A call to action shown before configuring a type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupLink {
    /// Target URL.
    pub href: String,
    /// Button text.
    pub cta: String,
}

/// The description of one destination type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeMetadata {
    /// Type name.
    #[serde(rename = "type")]
    pub kind: String,
    /// Configuration fields.
    pub config_fields: Vec<Field>,
    /// Credential fields.
    pub credential_fields: Vec<Field>,
    /// Display name.
    pub label: String,
    /// One-line description.
    pub description: String,
    /// SVG icon.
    pub icon: String,
    /// Optional setup link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_link: Option<SetupLink>,
    /// Markdown setup instructions.
    #[serde(default)]
    pub instructions: String,
}

macro_rules! embedded {
    ($($dir:literal),*) => {
        &[$( ($dir, include_str!(concat!("../metadata/", $dir, "/metadata.json")), include_str!(concat!("../metadata/", $dir, "/instructions.md"))) ),*]
    };
}

/// (folder, metadata.json, instructions.md) in registration order; `webhook_standard` last.
const EMBEDDED: &[(&str, &str, &str)] = embedded!(
    "webhook",
    "hookdeck",
    "aws_sqs",
    "aws_kinesis",
    "aws_s3",
    "aws_eventbridge",
    "gcp_pubsub",
    "azure_servicebus",
    "rabbitmq",
    "kafka",
    "webhook_standard"
);

/// Overridable presentation fields of a `metadata.json` override file.
#[derive(Debug, Deserialize)]
struct Override {
    label: Option<String>,
    description: Option<String>,
    icon: Option<String>,
    setup_link: Option<SetupLink>,
}

/// Loads the ten types (the webhook entry in the chosen mode), applying overrides found in
/// `override_dir/<folder>/{metadata.json,instructions.md}`.
pub fn load(standard_webhooks: bool, override_dir: &Path) -> Result<Vec<TypeMetadata>, String> {
    let mut out = Vec::with_capacity(EMBEDDED.len());
    for (folder, json, instructions) in EMBEDDED {
        let is_webhook_variant = *folder == "webhook" || *folder == "webhook_standard";
        if is_webhook_variant && (*folder == "webhook_standard") != standard_webhooks {
            continue;
        }
        let mut meta: TypeMetadata = serde_json::from_str(json)
            .map_err(|e| format!("embedded metadata of {folder} is invalid: {e}"))?;
        meta.instructions = instructions.to_string();
        let dir = override_dir.join(folder);
        let json_path = dir.join("metadata.json");
        if json_path.is_file() {
            let text = std::fs::read_to_string(&json_path)
                .map_err(|e| format!("cannot read {}: {e}", json_path.display()))?;
            let o: Override = serde_json::from_str(&text)
                .map_err(|e| format!("invalid {}: {e}", json_path.display()))?;
            if let Some(v) = o.label {
                meta.label = v;
            }
            if let Some(v) = o.description {
                meta.description = v;
            }
            if let Some(v) = o.icon {
                meta.icon = v;
            }
            if o.setup_link.is_some() {
                meta.setup_link = o.setup_link;
            }
        }
        let md_path = dir.join("instructions.md");
        if md_path.is_file() {
            meta.instructions = std::fs::read_to_string(&md_path)
                .map_err(|e| format!("cannot read {}: {e}", md_path.display()))?;
        }
        // Keep registration order with the webhook variant in first position.
        if is_webhook_variant {
            out.insert(0, meta);
        } else {
            out.push(meta);
        }
    }
    Ok(out)
}
