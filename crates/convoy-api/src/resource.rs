//! The closed set of kinds Convoy understands, and decoding a JSON value into one.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::meta::ObjectMeta;
use crate::path::FieldPath;
use crate::{
    AnalysisTemplate, ClusterConfig, ClusterPromotionTask, ConfigMap, Event, Freight, KARGO_API_VERSION, Project,
    ProjectConfig, Promotion, PromotionTask, ROLLOUTS_API_VERSION, Role, Secret, Stage, Warehouse,
};

/// Every kind Convoy stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Project,
    ProjectConfig,
    ClusterConfig,
    Warehouse,
    Freight,
    Stage,
    Promotion,
    PromotionTask,
    ClusterPromotionTask,
    Secret,
    ConfigMap,
    AnalysisTemplate,
    ClusterAnalysisTemplate,
    Event,
    Role,
}

impl Kind {
    pub const ALL: [Kind; 15] = [
        Kind::Project,
        Kind::ProjectConfig,
        Kind::ClusterConfig,
        Kind::Warehouse,
        Kind::Freight,
        Kind::Stage,
        Kind::Promotion,
        Kind::PromotionTask,
        Kind::ClusterPromotionTask,
        Kind::Secret,
        Kind::ConfigMap,
        Kind::AnalysisTemplate,
        Kind::ClusterAnalysisTemplate,
        Kind::Event,
        Kind::Role,
    ];

    /// The `kind` field value.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Project => "Project",
            Kind::ProjectConfig => "ProjectConfig",
            Kind::ClusterConfig => "ClusterConfig",
            Kind::Warehouse => "Warehouse",
            Kind::Freight => "Freight",
            Kind::Stage => "Stage",
            Kind::Promotion => "Promotion",
            Kind::PromotionTask => "PromotionTask",
            Kind::ClusterPromotionTask => "ClusterPromotionTask",
            Kind::Secret => "Secret",
            Kind::ConfigMap => "ConfigMap",
            Kind::AnalysisTemplate => "AnalysisTemplate",
            Kind::ClusterAnalysisTemplate => "ClusterAnalysisTemplate",
            Kind::Event => "Event",
            Kind::Role => "Role",
        }
    }

    /// The `apiVersion` documents of this kind carry.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Secret | Kind::ConfigMap | Kind::Event => "v1",
            Kind::AnalysisTemplate | Kind::ClusterAnalysisTemplate => ROLLOUTS_API_VERSION,
            Kind::Role => crate::rbac::RBAC_API_VERSION,
            _ => KARGO_API_VERSION,
        }
    }

    /// The lower-case plural used in URLs and on the command line.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Project => "projects",
            Kind::ProjectConfig => "projectconfigs",
            Kind::ClusterConfig => "clusterconfigs",
            Kind::Warehouse => "warehouses",
            Kind::Freight => "freight",
            Kind::Stage => "stages",
            Kind::Promotion => "promotions",
            Kind::PromotionTask => "promotiontasks",
            Kind::ClusterPromotionTask => "clusterpromotiontasks",
            Kind::Secret => "secrets",
            Kind::ConfigMap => "configmaps",
            Kind::AnalysisTemplate => "analysistemplates",
            Kind::ClusterAnalysisTemplate => "clusteranalysistemplates",
            Kind::Event => "events",
            Kind::Role => "roles",
        }
    }

    /// Cluster-scoped kinds live outside any project.
    pub fn is_cluster_scoped(self) -> bool {
        matches!(self, Kind::Project | Kind::ClusterConfig | Kind::ClusterPromotionTask | Kind::ClusterAnalysisTemplate)
    }

    /// The kind named by `apiVersion` and `kind`, if Convoy knows it.
    pub fn from_type(api_version: &str, kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == kind && k.api_version() == api_version)
    }

    /// A kind as typed on the command line: singular, plural or Kargo's short names.
    pub fn from_cli(word: &str) -> Option<Kind> {
        let word = word.to_ascii_lowercase();
        let short = match word.as_str() {
            "promo" | "promos" => Some(Kind::Promotion),
            "promotask" | "promotasks" => Some(Kind::PromotionTask),
            "clusterpromotask" | "clusterpromotasks" => Some(Kind::ClusterPromotionTask),
            "freights" => Some(Kind::Freight),
            _ => None,
        };
        short.or_else(|| Kind::ALL.into_iter().find(|k| k.name().eq_ignore_ascii_case(&word) || k.plural() == word))
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Kinds of Kargo's API group that only the Akuity Platform serves.
const AKUITY_PLATFORM_KINDS: &[&str] = &["CustomPromotionStep", "EventRouter", "MessageChannel"];

/// One typed object of any known kind.
#[derive(Debug, Clone, PartialEq)]
#[expect(clippy::large_enum_variant, reason = "objects are moved rarely; boxing every kind would burden every match")]
pub enum Resource {
    Project(Project),
    ProjectConfig(ProjectConfig),
    ClusterConfig(ClusterConfig),
    Warehouse(Warehouse),
    Freight(Freight),
    Stage(Stage),
    Promotion(Promotion),
    PromotionTask(PromotionTask),
    ClusterPromotionTask(ClusterPromotionTask),
    Secret(Secret),
    ConfigMap(ConfigMap),
    AnalysisTemplate(AnalysisTemplate),
    /// Same shape as an AnalysisTemplate, cluster-scoped.
    ClusterAnalysisTemplate(AnalysisTemplate),
    Event(Event),
    Role(Role),
}

macro_rules! each_kind {
    ($value:expr, $obj:ident => $body:expr) => {
        match $value {
            Resource::Project($obj) => $body,
            Resource::ProjectConfig($obj) => $body,
            Resource::ClusterConfig($obj) => $body,
            Resource::Warehouse($obj) => $body,
            Resource::Freight($obj) => $body,
            Resource::Stage($obj) => $body,
            Resource::Promotion($obj) => $body,
            Resource::PromotionTask($obj) => $body,
            Resource::ClusterPromotionTask($obj) => $body,
            Resource::Secret($obj) => $body,
            Resource::ConfigMap($obj) => $body,
            Resource::AnalysisTemplate($obj) => $body,
            Resource::ClusterAnalysisTemplate($obj) => $body,
            Resource::Event($obj) => $body,
            Resource::Role($obj) => $body,
        }
    };
}

/// Why a value is not a valid object, with the field path of the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DecodeError {
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Resource {
    pub fn kind(&self) -> Kind {
        match self {
            Resource::Project(_) => Kind::Project,
            Resource::ProjectConfig(_) => Kind::ProjectConfig,
            Resource::ClusterConfig(_) => Kind::ClusterConfig,
            Resource::Warehouse(_) => Kind::Warehouse,
            Resource::Freight(_) => Kind::Freight,
            Resource::Stage(_) => Kind::Stage,
            Resource::Promotion(_) => Kind::Promotion,
            Resource::PromotionTask(_) => Kind::PromotionTask,
            Resource::ClusterPromotionTask(_) => Kind::ClusterPromotionTask,
            Resource::Secret(_) => Kind::Secret,
            Resource::ConfigMap(_) => Kind::ConfigMap,
            Resource::AnalysisTemplate(_) => Kind::AnalysisTemplate,
            Resource::ClusterAnalysisTemplate(_) => Kind::ClusterAnalysisTemplate,
            Resource::Event(_) => Kind::Event,
            Resource::Role(_) => Kind::Role,
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        each_kind!(self, o => &o.metadata)
    }

    pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
        each_kind!(self, o => &mut o.metadata)
    }

    /// The object as JSON, in Kargo's shape.
    pub fn to_value(&self) -> Value {
        let value = each_kind!(self, o => serde_json::to_value(o));
        // Serializing plain data with string keys cannot fail.
        value.unwrap_or(Value::Null)
    }

    /// The `apiVersion` and `kind` of a document, when it names a kind Convoy knows.
    /// `Ok(None)` means a well-formed document of another kind (to be skipped).
    pub fn kind_of(value: &Value) -> Result<Option<Kind>, DecodeError> {
        let Value::Object(map) = value else {
            return Err(DecodeError {
                path: String::new(),
                message: "a document must be a mapping with apiVersion, kind and metadata".into(),
                hint: None,
            });
        };
        let field = |name: &str| map.get(name).and_then(Value::as_str).unwrap_or("");
        let (api_version, kind) = (field("apiVersion"), field("kind"));
        if api_version.is_empty() || kind.is_empty() {
            let missing = if api_version.is_empty() { "apiVersion" } else { "kind" };
            return Err(DecodeError {
                path: missing.into(),
                message: "missing field".into(),
                hint: Some(format!("every document needs apiVersion and kind, e.g. apiVersion: {KARGO_API_VERSION}")),
            });
        }
        if let Some(kind) = Kind::from_type(api_version, kind) {
            return Ok(Some(kind));
        }
        if let Some(known) = Kind::ALL.into_iter().find(|k| k.name() == kind) {
            return Err(DecodeError {
                path: "apiVersion".into(),
                message: format!("{kind} is served at {}, not {api_version:?}", known.api_version()),
                hint: Some(format!("set apiVersion: {}", known.api_version())),
            });
        }
        if api_version == KARGO_API_VERSION && AKUITY_PLATFORM_KINDS.contains(&kind) {
            return Err(DecodeError {
                path: "kind".into(),
                message: format!(
                    "{kind} is a kind of the Akuity Platform; open-source Kargo and Convoy do not have it"
                ),
                hint: Some("remove it from the set (steps that use it must be replaced too)".into()),
            });
        }
        if api_version == KARGO_API_VERSION {
            let names = Kind::ALL.map(Kind::name);
            let guess = crate::suggest::closest(kind, names);
            return Err(DecodeError {
                path: "kind".into(),
                message: format!("unknown Kargo kind {kind:?}"),
                hint: guess.map(|g| format!("did you mean {g:?}?")),
            });
        }
        Ok(None)
    }

    /// Decodes a document of a known kind. Unknown fields are rejected with their path and,
    /// when a known field is close, a suggestion.
    pub fn decode(value: &Value) -> Result<Option<Resource>, DecodeError> {
        let Some(kind) = Self::kind_of(value)? else {
            return Ok(None);
        };
        if kind == Kind::Project {
            reject_project_spec(value)?;
        }
        Resource::decode_as(kind, value)
            .map(Some)
            .map_err(|err| explain(convert_path(err.path()), &err.inner().to_string()))
    }

    /// Decodes `value` as `kind`, strictly, with the path of the first problem.
    pub(crate) fn decode_as(
        kind: Kind,
        value: &Value,
    ) -> Result<Resource, serde_path_to_error::Error<serde_json::Error>> {
        fn typed<T: DeserializeOwned>(value: &Value) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
            serde_path_to_error::deserialize(value)
        }
        Ok(match kind {
            Kind::Project => Resource::Project(typed(value)?),
            Kind::ProjectConfig => Resource::ProjectConfig(typed(value)?),
            Kind::ClusterConfig => Resource::ClusterConfig(typed(value)?),
            Kind::Warehouse => Resource::Warehouse(typed(value)?),
            Kind::Freight => Resource::Freight(typed(value)?),
            Kind::Stage => Resource::Stage(typed(value)?),
            Kind::Promotion => Resource::Promotion(typed(value)?),
            Kind::PromotionTask => Resource::PromotionTask(typed(value)?),
            Kind::ClusterPromotionTask => Resource::ClusterPromotionTask(typed(value)?),
            Kind::Secret => Resource::Secret(typed(value)?),
            Kind::ConfigMap => Resource::ConfigMap(typed(value)?),
            Kind::AnalysisTemplate => Resource::AnalysisTemplate(typed(value)?),
            Kind::ClusterAnalysisTemplate => Resource::ClusterAnalysisTemplate(typed(value)?),
            Kind::Event => Resource::Event(typed(value)?),
            Kind::Role => Resource::Role(typed(value)?),
        })
    }
}

/// Kargo before v1.0 kept promotion policies in `Project.spec`; say where they moved.
pub(crate) fn reject_project_spec(value: &Value) -> Result<(), DecodeError> {
    if value.get("spec").is_some() {
        return Err(DecodeError {
            path: "spec".into(),
            message: "unknown field; a Project has no spec".into(),
            hint: Some(
                "move spec.promotionPolicies to a ProjectConfig named after the project (`convoy migrate -f FILE` does it)"
                    .into(),
            ),
        });
    }
    Ok(())
}

fn convert_path(path: &serde_path_to_error::Path) -> FieldPath {
    use serde_path_to_error::Segment as S;
    let mut out = FieldPath::default();
    for segment in path.iter() {
        out = match segment {
            S::Seq { index } => out.index(*index),
            S::Map { key } | S::Enum { variant: key } => out.child(key),
            S::Unknown => out,
        };
    }
    out
}

/// Turns serde's messages into Convoy's: the unknown field's own path and a suggestion.
pub(crate) fn explain(mut path: FieldPath, message: &str) -> DecodeError {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        if path.segments().last() != Some(&crate::path::Segment::Field(field.to_owned())) {
            path = path.child(field);
        }
        let guess = crate::suggest::closest(field, known.iter().copied());
        let message = match guess {
            Some(g) => format!("unknown field; did you mean {g:?}?"),
            None => "unknown field".to_owned(),
        };
        let hint = if known.is_empty() {
            Some("remove it; nothing is allowed here".to_owned())
        } else {
            Some(format!("allowed here: {}", known.join(", ")))
        };
        return DecodeError { path: path.to_string(), message, hint };
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return DecodeError {
            path: path.child(field).to_string(),
            message: "required field is missing".into(),
            hint: None,
        };
    }
    DecodeError { path: path.to_string(), message: message.to_owned(), hint: None }
}
