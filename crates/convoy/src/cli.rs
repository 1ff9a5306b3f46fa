//! Command-line definitions (clap). Flags and exit codes follow docs/cli.md.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "convoy", version, about = "Continuous promotion for GitOps, compatible with Kargo's resources")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands that never talk to a server: their help does not list `--server`, `--token`
/// and the TLS flags.
const OFFLINE_COMMANDS: &[&str] = &["server", "quickstart", "lint", "migrate", "render", "eval", "completion"];

impl Cli {
    /// The command line, as `--help` shows it: the global flags under their own heading, and
    /// the server's flags hidden from the commands that work offline (still accepted there).
    pub fn command() -> clap::Command {
        use clap::CommandFactory;
        let mut command = <Cli as CommandFactory>::command();
        // A subcommand's own argument of a global's id takes the global's place there: hidden
        // copies keep the flags accepted but out of the help.
        let hidden: Vec<clap::Arg> = command
            .get_arguments()
            .filter(|a| {
                ["server", "token", "certificate_authority", "insecure_skip_tls_verify"].contains(&a.get_id().as_str())
            })
            .map(|a| a.clone().global(false).hide(true))
            .collect();
        for name in OFFLINE_COMMANDS {
            command = command.mut_subcommand(name, |sub| sub.args(hidden.clone()));
        }
        command
    }

    /// Parses the process's arguments (exits with clap's message and code on bad ones).
    pub fn parse_args() -> Cli {
        use clap::FromArgMatches;
        let matches = Cli::command().get_matches();
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

/// Flags every command accepts.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Project for documents and commands that do not name one.
    #[arg(short = 'p', long, global = true, env = "CONVOY_PROJECT")]
    pub project: Option<String>,
    /// Address of the Convoy server.
    #[arg(long, global = true, env = "CONVOY_SERVER")]
    pub server: Option<String>,
    /// Bearer token for the server.
    #[arg(long, global = true, env = "CONVOY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// PEM file of the certificate authority that signed an https server's certificate
    /// (instead of the system's roots); `convoy login` saves it for the server.
    #[arg(long, global = true, env = "CONVOY_CERTIFICATE_AUTHORITY", value_name = "FILE")]
    pub certificate_authority: Option<PathBuf>,
    /// Do not verify an https server's certificate (test servers only: anyone on the path can
    /// read the token).
    #[arg(long, global = true, env = "CONVOY_INSECURE_SKIP_TLS_VERIFY")]
    pub insecure_skip_tls_verify: bool,
    /// Client configuration file [default: $XDG_CONFIG_HOME/convoy/config.yaml].
    #[arg(long, global = true, env = "CONVOY_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server and controllers on the embedded store (or PostgreSQL).
    Server(Box<ServerArgs>),
    /// A local pipeline end to end with nothing but git: repositories, Convoy, a Freight promoted
    /// through dev and staging; then exits.
    Quickstart(QuickstartArgs),
    /// Save the server address and a token in the client configuration file.
    Login(LoginArgs),
    /// Create or update the objects of files, all in one transaction.
    #[command(
        after_help = "Examples:\n  convoy apply -f kargo/ -R\n  convoy apply -f pipeline.yaml --dry-run\n  convoy -p shop apply -f stages.yaml   # documents without a namespace go to shop"
    )]
    Apply(ApplyArgs),
    /// Create the objects of files (existing ones are an error), all in one transaction; or
    /// `create credentials NAME` for a source's credentials Secret.
    Create(CreateArgs),
    /// Delete the objects of files, or one object by kind and name.
    Delete(DeleteArgs),
    /// List objects of a kind, or show one.
    #[command(
        after_help = "Examples:\n  convoy -p shop get stages\n  convoy -p shop get freight --warehouse app -o wide\n  convoy -p shop get promotions --stage prod --latest -o yaml\n  convoy -p shop get stages -w"
    )]
    Get(GetArgs),
    /// Show one object in detail.
    #[command(
        after_help = "Examples:\n  convoy -p shop describe stage prod\n  convoy -p shop describe freight tired-sloth   # by alias"
    )]
    Describe(DescribeArgs),
    /// Promote Freight into a Stage.
    #[command(
        after_help = "Examples:\n  convoy -p shop promote --freight-alias tired-sloth --stage dev --wait\n  convoy -p shop promote --warehouse app --stage dev   # what auto-promotion would choose\n  convoy -p shop promote --freight-alias tired-sloth --downstream-from dev\n  convoy -p shop promote --freight-alias tired-sloth --stage prod --dry-run"
    )]
    Promote(PromoteArgs),
    /// Approve Freight for a Stage (it may then be promoted there, skipping upstream verification and soak).
    Approve(ApproveArgs),
    /// Run a Stage's verification again (`verify stage NAME`), or stop it (`--abort`).
    Verify(VerifyArgs),
    /// Look again now: `refresh warehouse NAME` discovers at once; `refresh stage NAME` reconciles the Stage.
    Refresh(RefreshArgs),
    /// Change a Freight's alias.
    Update(UpdateArgs),
    /// The project's event log (Promotions created and finished, Freight created, approved, verified).
    #[command(after_help = "Examples:\n  convoy -p shop events --for stage/prod\n  convoy -p shop events -w -o json")]
    Events(EventsArgs),
    /// Show a Promotion's steps as a timeline (`stage NAME`: its latest); -f follows it to the end.
    #[command(
        after_help = "Examples:\n  convoy -p shop logs stage prod\n  convoy -p shop logs promotion prod.01hw3k9x2v7yq8j5n4m6r0t1ab.3f2a9c1 -f"
    )]
    Logs(FollowLogsArgs),
    /// Abort a running or waiting Promotion.
    Abort(LogsArgs),
    /// Check manifests offline: defaulting, task expansion and validation over the whole set.
    #[command(after_help = "Examples:\n  convoy lint -f kargo/ -R\n  convoy lint -f pipeline.yaml --strict -o json")]
    Lint(LintArgs),
    /// Rewrite pre-v1.0 Kargo manifests (Stage subscriptions and promotionMechanisms, Project
    /// promotionPolicies, allowTags) to v1, keeping the rest of the text; prints a diff unless
    /// --write.
    #[command(
        after_help = "Examples:\n  convoy migrate -f kargo/ -R            # print the diff\n  convoy migrate -f kargo/ -R --write    # change the files"
    )]
    Migrate(MigrateArgs),
    /// Print the steps and vars a promotion of a Stage would run, after task expansion.
    #[command(after_help = "Examples:\n  convoy render --stage prod -f kargo/ -R")]
    Render(RenderArgs),
    /// Evaluate one template (`${{ }}` expressions) and print the result as JSON.
    Eval(EvalArgs),
    /// Check this install: git, kustomize, the server, and (on the server) the store, disk,
    /// Warehouse sources, Stage tasks and remotes, and webhook receivers, each with its fix.
    Doctor(DoctorArgs),
    /// Give a role to users (by OpenID Connect claim) or tokens, or add rules to a role.
    #[command(
        after_help = "Examples:\n  convoy -p shop grant --role developer --claim groups=developer\n  convoy -p shop grant --role developer --verb promote --resource-type stages --resource-name dev\n  convoy -p shop grant --role kargo-promoter --token-name ci\n  convoy grant --system --role kargo-viewer --token-name dashboards"
    )]
    Grant(GrantArgs),
    /// Take a role from users or tokens, or remove verbs from its rules (as grant, reversed).
    Revoke(GrantArgs),
    /// Who did what: the audit trail of writes, accepted and refused, newest first.
    #[command(
        after_help = "Examples:\n  convoy -p shop audit --since 24h\n  convoy audit --actor token:ci -o json > audit.jsonl"
    )]
    Audit(AuditArgs),
    /// Print the client version.
    Version(VersionArgs),
    /// Print a shell completion script, e.g. `source <(convoy completion bash)`.
    Completion(CompletionArgs),
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The template, e.g. 'v${{ semverParse("1.4.2").Major + 1 }}' (prints "v2").
    pub template: String,
    /// JSON file with the variables and data in scope (`-` for standard input); see docs/eval.md.
    #[arg(long, value_name = "FILE")]
    pub context: Option<PathBuf>,
}

/// Which manifests to read.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// File or directory of YAML/JSON manifests; `-` reads standard input. Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true)]
    pub files: Vec<PathBuf>,
    /// Descend into sub-directories of directories given with -f.
    #[arg(short = 'R', long)]
    pub recursive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub files: FileArgs,
    /// An object defined twice with different content is an error (kubectl applies the last).
    #[arg(long)]
    pub strict: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub format: LintFormat,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub files: FileArgs,
    /// Change the files instead of printing the diff.
    #[arg(long)]
    pub write: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Output format: one line per check, or a JSON array of {name, status, message, fix}.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub format: LintFormat,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The Stage whose promotion steps to render.
    #[arg(long)]
    pub stage: String,
    #[command(flatten)]
    pub files: FileArgs,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Print only the client's version.
    #[arg(long)]
    pub client: bool,
}

#[derive(Debug, Args)]
pub struct QuickstartArgs {
    /// Where Convoy keeps its data (and the quickstart its repositories) [default: $XDG_DATA_HOME/convoy].
    #[arg(long, env = "CONVOY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Where the database, the admin token and work files live [default: $XDG_DATA_HOME/convoy].
    #[arg(long, env = "CONVOY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "CONVOY_LISTEN", default_value = "127.0.0.1:7070")]
    pub listen: std::net::SocketAddr,
    /// PostgreSQL URL (postgres://USER@HOST:PORT/DB) to use instead of the embedded SQLite.
    #[arg(long, env = "CONVOY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Handle only the Stages, Promotions and Warehouses labelled kargo.akuity.io/shard=NAME
    /// (Kargo's sharding); without it, the unlabelled ones.
    #[arg(long, env = "CONVOY_SHARD", value_name = "NAME")]
    pub shard: Option<String>,
    /// Let Stages and Warehouses use `file://` URLs and local paths as git remotes. Off by
    /// default: with it, anyone who can write a Stage can read or push any repository on this
    /// host, Convoy's own mirrors included. For trials and tests.
    #[arg(long, env = "CONVOY_ALLOW_FILE_REMOTES")]
    pub allow_file_remotes: bool,
    /// Where Prometheus scrapes `/metrics` (no authentication there: keep it on loopback or a
    /// private network); `off` serves none.
    #[arg(long, env = "CONVOY_METRICS_LISTEN", value_name = "ADDR", default_value = "127.0.0.1:9090")]
    pub metrics_listen: MetricsListen,
    /// Serve the API over TLS with this PEM certificate (chain); read again when the file
    /// changes, so a rotated certificate is used without a restart.
    #[arg(long, env = "CONVOY_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "CONVOY_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Single sign-on: the OpenID Connect issuer (its `/.well-known/openid-configuration` is read).
    #[arg(long, env = "CONVOY_OIDC_ISSUER", value_name = "URL", requires = "oidc_client_id")]
    pub oidc_issuer: Option<String>,
    /// The web UI's client id at the issuer (a public client: authorization code with PKCE;
    /// redirect URI `https://HOST/auth/callback`).
    #[arg(long, env = "CONVOY_OIDC_CLIENT_ID", value_name = "ID", requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,
    /// The CLI's client id (device flow) [default: --oidc-client-id].
    #[arg(long, env = "CONVOY_OIDC_CLI_CLIENT_ID", value_name = "ID", requires = "oidc_issuer")]
    pub oidc_cli_client_id: Option<String>,
    /// Scopes asked for besides openid.
    #[arg(long = "oidc-scope", env = "CONVOY_OIDC_SCOPES", value_name = "SCOPE", value_delimiter = ',', default_values_t = ["profile".to_owned(), "email".to_owned(), "groups".to_owned()])]
    pub oidc_scopes: Vec<String>,
    /// Users whose claim has this value are system administrators (kargo-admin), e.g. groups=ops (repeatable).
    #[arg(long = "oidc-admins", env = "CONVOY_OIDC_ADMINS", value_name = "CLAIM=VALUE", value_delimiter = ',')]
    pub oidc_admins: Vec<String>,
    /// ... system viewers (kargo-viewer).
    #[arg(long = "oidc-viewers", env = "CONVOY_OIDC_VIEWERS", value_name = "CLAIM=VALUE", value_delimiter = ',')]
    pub oidc_viewers: Vec<String>,
    /// ... users who may list projects (kargo-user).
    #[arg(long = "oidc-users", env = "CONVOY_OIDC_USERS", value_name = "CLAIM=VALUE", value_delimiter = ',')]
    pub oidc_users: Vec<String>,
    /// ... project creators (kargo-project-creator).
    #[arg(
        long = "oidc-project-creators",
        env = "CONVOY_OIDC_PROJECT_CREATORS",
        value_name = "CLAIM=VALUE",
        value_delimiter = ','
    )]
    pub oidc_project_creators: Vec<String>,
    /// How long the audit trail keeps each record (`90d`, `720h`); older ones are dropped.
    #[arg(long, env = "CONVOY_AUDIT_RETENTION", value_name = "DURATION", default_value = "90d", value_parser = crate::cli::parse_retention)]
    pub audit_retention: std::time::Duration,
    /// Kubeconfig of the cluster running Argo CD, for the argocd-update and argocd-wait steps
    /// and Stage health [default: $KUBECONFIG, ~/.kube/config, then the in-cluster service
    /// account; without any, the Argo CD steps fail saying how to connect one].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Where Argo CD's Applications live when a step names none.
    #[arg(long, env = "ARGOCD_NAMESPACE", value_name = "NS", default_value = convoy_argocd::DEFAULT_NAMESPACE)]
    pub argocd_namespace: String,
    /// Watch Argo CD Applications in --argocd-namespace only, not in every namespace (for a
    /// service account bound by a namespaced Role there).
    #[arg(long, env = "ARGOCD_WATCH_ARGOCD_NAMESPACE_ONLY")]
    pub argocd_watch_namespace_only: bool,
    /// Start even where the SQLite data directory cannot be locked (some network filesystems):
    /// then nothing stops a second server from corrupting the database.
    #[arg(long)]
    pub no_data_dir_lock: bool,
    /// Log format.
    #[arg(long, env = "CONVOY_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// `--metrics-listen`: an address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsListen(pub Option<std::net::SocketAddr>);

impl std::str::FromStr for MetricsListen {
    type Err = String;

    fn from_str(text: &str) -> Result<MetricsListen, String> {
        if text == "off" {
            return Ok(MetricsListen(None));
        }
        text.parse()
            .map(|a| MetricsListen(Some(a)))
            .map_err(|_| format!("{text:?} is not an address (HOST:PORT) or off"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `convoy login --server URL (--token T | --token-file F)`; `--server` and `--token` are the
/// global flags.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// A file holding the token, e.g. DATA_DIR/admin-token (safer than --token, which other
    /// users can see in the process list).
    #[arg(long, conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// Sign in through the server's OpenID Connect issuer: in this machine's browser (a loopback
    /// redirect to 127.0.0.1), or, without one, by the device flow (open the link shown on any
    /// machine and confirm the code); the ID token is saved.
    #[arg(long, conflicts_with_all = ["token", "token_file"])]
    pub sso: bool,
    /// With --sso: the device flow even where a browser could be opened here.
    #[arg(long, requires = "sso")]
    pub device_code: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub files: FileArgs,
    /// Admit everything and report what would change, without writing.
    #[arg(long)]
    pub dry_run: bool,
    /// Send at most N objects per request, each batch admitted and written on its own (sets
    /// larger than one request, 8 MiB, are batched by size without it).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: Option<u32>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct CreateArgs {
    #[command(subcommand)]
    pub what: Option<CreateWhat>,
    #[command(flatten)]
    pub apply: ApplyArgs,
}

#[derive(Debug, Subcommand)]
pub enum CreateWhat {
    /// A credentials Secret (Kargo's `kargo.akuity.io/cred-type`) for git, image or helm sources.
    Credentials(CredentialsArgs),
    /// A project role without users or rules (add them with `convoy grant`).
    Role(RoleArgs),
    /// A named API token with one role; prints the token once, on the last line.
    #[command(
        after_help = "Examples:\n  convoy -p shop create token ci --role kargo-promoter --expires 90d\n  convoy create token dashboards --system --role kargo-viewer"
    )]
    Token(TokenArgs),
}

#[derive(Debug, Args)]
pub struct RoleArgs {
    pub name: String,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Lower-case letters, digits and '-'; never reused, so the audit trail names one token.
    pub name: String,
    /// The role: of the project (-p), or a system role with --system.
    #[arg(long)]
    pub role: String,
    /// A system token (system roles: kargo-admin, kargo-viewer, kargo-user, kargo-project-creator).
    #[arg(long)]
    pub system: bool,
    /// How long it is valid: 90d, 12h, 30m (default: until deleted).
    #[arg(long, value_name = "DURATION")]
    pub expires: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("whom").required(true).multiple(true).args(["claims", "tokens", "verbs"])))]
pub struct GrantArgs {
    #[arg(long)]
    pub role: String,
    /// A system role (only tokens can be given one).
    #[arg(long)]
    pub system: bool,
    /// Users whose OpenID Connect claim has this value, e.g. groups=devops (repeatable).
    #[arg(long = "claim", value_name = "NAME=VALUE")]
    pub claims: Vec<String>,
    /// A token by name (repeatable). Not `--token`: that is every command's credential.
    #[arg(long = "token-name", value_name = "NAME")]
    pub tokens: Vec<String>,
    /// A verb of a rule: get, list, watch, create, update, patch, delete, promote or '*' (repeatable).
    #[arg(long = "verb", requires = "resource_types")]
    pub verbs: Vec<String>,
    /// The resource types of the rule: stages, warehouses, freights, promotions, ... (repeatable).
    #[arg(long = "resource-type", value_name = "TYPE", requires = "verbs")]
    pub resource_types: Vec<String>,
    /// Only these objects (repeatable).
    #[arg(long = "resource-name", value_name = "NAME", requires = "resource_types")]
    pub resource_names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Records since this long ago (24h, 7d) or this time (RFC 3339).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only this actor, e.g. token:ci.
    #[arg(long)]
    pub actor: Option<String>,
    /// At most this many records.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// table, or json: one record per line (JSON lines).
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CredentialType {
    Git,
    Image,
    Helm,
    Generic,
}

#[derive(Debug, Args)]
pub struct CredentialsArgs {
    /// The Secret's name.
    pub name: String,
    #[arg(long = "type", value_enum)]
    pub kind: CredentialType,
    /// The repository these credentials are for (a regular expression with --regex).
    #[arg(long)]
    pub repo_url: String,
    /// Treat --repo-url as a regular expression matching several repositories.
    #[arg(long)]
    pub regex: bool,
    #[arg(long)]
    pub username: String,
    /// Read the password (or token) from standard input; it is never taken as an argument.
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Files whose objects to delete.
    #[arg(short = 'f', long = "filename", value_name = "PATH", conflicts_with_all = ["kind", "name"])]
    pub files: Vec<PathBuf>,
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Kind of the object to delete (stage, warehouse, freight, ...).
    #[arg(required_unless_present = "files")]
    pub kind: Option<String>,
    #[arg(required_unless_present = "files")]
    pub name: Option<String>,
    /// A system token (`delete token NAME --system`).
    #[arg(long)]
    pub system: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Wide,
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Kind: singular, plural or Kargo's short name (stages, promos, freight, ...).
    pub kind: String,
    pub name: Option<String>,
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    pub output: OutputFormat,
    /// Label selector, e.g. tier=web,env!=prod.
    #[arg(short = 'l', long = "selector")]
    pub selector: Option<String>,
    /// Keep printing changes as they happen.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Only Freight that came from this Warehouse (`get freight`).
    #[arg(long)]
    pub warehouse: Option<String>,
    /// Only Promotions into this Stage (`get promotions`).
    #[arg(long)]
    pub stage: Option<String>,
    /// Only the newest one (`get promotions --stage S --latest`).
    #[arg(long, requires = "stage")]
    pub latest: bool,
    /// System tokens or roles (`get tokens --system`, `get roles --system`).
    #[arg(long)]
    pub system: bool,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["freight", "freight_alias", "warehouse"])))]
#[command(group(clap::ArgGroup::new("target").required(true).args(["stage", "downstream_from"])))]
pub struct PromoteArgs {
    /// The Freight's name.
    #[arg(long)]
    pub freight: Option<String>,
    /// The Freight's alias.
    #[arg(long)]
    pub freight_alias: Option<String>,
    /// The Freight auto-promotion would choose from this Warehouse.
    #[arg(long, requires = "stage")]
    pub warehouse: Option<String>,
    /// The Stage to promote into.
    #[arg(long)]
    pub stage: Option<String>,
    /// Promote into every Stage that takes Freight from this one.
    #[arg(long, conflicts_with_all = ["dry_run", "warehouse"])]
    pub downstream_from: Option<String>,
    /// Follow the promotion step by step; exit 1 unless it succeeds.
    #[arg(long, conflicts_with = "dry_run")]
    pub wait: bool,
    /// Run the steps in a throwaway work tree without pushing or any other outside effect, and
    /// print the diff each commit would have made. Nothing is stored.
    #[arg(long)]
    pub dry_run: bool,
    /// Promote although a promotion window freezes the Stage; the reason is recorded on the
    /// Promotion.
    #[arg(long, value_name = "REASON", conflicts_with = "downstream_from")]
    pub override_window: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["freight", "freight_alias"])))]
pub struct ApproveArgs {
    #[arg(long)]
    pub freight: Option<String>,
    #[arg(long)]
    pub freight_alias: Option<String>,
    #[arg(long)]
    pub stage: String,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// `stage`
    pub kind: String,
    pub name: String,
    /// Stop the running verification instead.
    #[arg(long)]
    pub abort: bool,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// `warehouse` or `stage`
    pub kind: String,
    pub name: String,
    /// Wait until the refresh is handled; print what it found; exit 1 if discovery failed.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["name", "old_alias"])))]
pub struct UpdateArgs {
    /// `freight`
    pub kind: String,
    /// The Freight's name.
    #[arg(long)]
    pub name: Option<String>,
    /// The Freight's current alias.
    #[arg(long)]
    pub old_alias: Option<String>,
    /// The alias to give it.
    #[arg(long)]
    pub new_alias: String,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Keep printing events as they happen.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Only the events about this object, e.g. `stage/dev` or `promotion/dev.01h…`.
    #[arg(long = "for", value_name = "KIND/NAME")]
    pub about: Option<String>,
    /// Output format: a line per event (with its age), or one JSON object per line.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub format: LintFormat,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// `promotion`
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Args)]
pub struct FollowLogsArgs {
    /// `promotion`, or `stage` for the Stage's latest Promotion.
    pub kind: String,
    pub name: String,
    /// Keep following the Promotion until it ends (exit 1 unless it succeeds).
    #[arg(short = 'f', long)]
    pub follow: bool,
}

/// `90d`, or a duration with units s, m, h (`720h`).
pub fn parse_retention(text: &str) -> Result<std::time::Duration, String> {
    if let Some(days) = text.strip_suffix('d')
        && let Ok(days) = days.parse::<u64>()
        && days > 0
    {
        return Ok(std::time::Duration::from_secs(days * 86_400));
    }
    match convoy_core::duration::parse(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("the retention must be longer than zero".into()),
        Err(e) => Err(format!("{e}, or days (90d)")),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;

    /// Every example in a command's help parses as written (comments after `#` aside).
    #[test]
    fn help_examples_parse() {
        let mut checked = 0;
        let top = Cli::command();
        let commands = top.get_subcommands().flat_map(|c| std::iter::once(c).chain(c.get_subcommands()));
        for command in commands {
            let Some(help) = command.get_after_help() else { continue };
            for line in help.to_string().lines().map(str::trim).filter(|l| l.starts_with("convoy ")) {
                // The shell's part (a comment, a redirection, a pipe) is not the command's.
                let words: Vec<&str> = line.split(['#', '>', '|']).next().unwrap_or("").split_whitespace().collect();
                if let Err(e) = Cli::try_parse_from(&words) {
                    panic!("{line:?} does not parse: {e}");
                }
                checked += 1;
            }
        }
        assert!(checked >= 20, "only {checked} examples");
    }
}
