//! The `jobpulse` command: serve the app, migrate the database, manage tenants.

use std::path::PathBuf;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use jobpulse::cli::{self, ApiArgs, SendBulkArgs};
use jobpulse::protocol::JobId;
use jobpulse::server::http::auth;
use jobpulse::server::http::error::AppError;
use jobpulse::server::services::accounts;
use jobpulse::server::settings::Settings;
use jobpulse::server::startup::Application;
use jobpulse::server::store;

/// Start long background work and watch it live.
#[derive(Parser)]
#[command(name = "jobpulse", version, about)]
struct Cli {
    /// Runtime settings; JOBPULSE_* environment variables override them.
    #[arg(
        long,
        global = true,
        env = "JOBPULSE_CONFIG",
        default_value = "Leptos.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the pages, the API and the engine (migrates the database first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Follow a job live with a progress bar; exits 0 if it completed, 1 if it failed, 3 if cancelled.
    Watch {
        /// The job's id.
        job_id: JobId,
        /// After a send through senders ends, go on until every sent message has a receipt
        /// (delivered, read or undelivered) or its receipts window closes.
        #[arg(long)]
        receipts: bool,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Create a bulk send from a CSV of phone numbers (a "phone" column, or the first one).
    SendBulk {
        #[command(flatten)]
        args: SendBulkArgs,
        #[command(flatten)]
        api: ApiArgs,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant and print its API token (alone, on stdout).
    Create {
        /// The tenant's name (client code).
        name: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for a tenant and print it (alone, on stdout; it is stored hashed).
    Create {
        #[arg(long)]
        tenant: String,
        /// What the token is for, as the settings page shows it.
        #[arg(long, default_value = "created with the CLI")]
        name: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from $JOBPULSE_USER_PASSWORD or the first line of stdin.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        username: String,
        /// admin, operator or viewer.
        #[arg(long, default_value = "operator")]
        role: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    jobpulse::server::startup::tune_allocator();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("JOBPULSE_LOG")
                .unwrap_or_else(|_| "jobpulse=info,warn".into()),
        )
        .init();
    // Client commands talk to a server over HTTP: they need no settings file.
    match &cli.command {
        Command::Watch {
            job_id,
            receipts,
            api,
        } => return Ok(cli::watch(api, *job_id, *receipts).await?),
        Command::SendBulk { args, api } => return Ok(cli::send_bulk(api, args).await?),
        _ => {}
    }
    let settings = Settings::load(&cli.config)
        .with_context(|| format!("reading settings from {}", cli.config.display()))?;

    match cli.command {
        Command::Serve => serve(settings).await?,
        Command::Migrate => {
            let store = store::connect(&settings.database_url).await?;
            store.migrate().await?;
            eprintln!("migrations applied to {}", settings.database_url);
        }
        Command::Tenant {
            command: TenantCommand::Create { name },
        } => {
            let store = store::connect(&settings.database_url).await?;
            store.migrate().await?;
            let (_, token) = auth::create_tenant(store.as_ref(), &name).await?;
            println!("{token}");
        }
        Command::Token {
            command: TokenCommand::Create { tenant, name },
        } => {
            let store = store::connect(&settings.database_url).await?;
            store.migrate().await?;
            let tenant = store
                .tenant_by_name(&tenant)
                .await?
                .with_context(|| format!("there is no tenant named {tenant:?}"))?;
            let token = accounts::create_token(store.as_ref(), tenant.id, &name)
                .await
                .map_err(anyhow::Error::from)?;
            println!("{token}");
        }
        Command::User {
            command:
                UserCommand::Create {
                    tenant,
                    username,
                    role,
                },
        } => {
            let role =
                accounts::parse_role(&role).map_err(|r| anyhow::anyhow!(AppError::Account(r)))?;
            let password = match std::env::var("JOBPULSE_USER_PASSWORD") {
                Ok(password) => password,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let username = accounts::check_new_user(&username, &password)
                .map_err(|r| anyhow::anyhow!(AppError::Account(r)))?;
            let store = store::connect(&settings.database_url).await?;
            store.migrate().await?;
            let tenant = store
                .tenant_by_name(&tenant)
                .await?
                .with_context(|| format!("there is no tenant named {tenant:?}"))?;
            let hash = auth::hash_password(&password);
            accounts::create_user(store.as_ref(), tenant.id, &username, &hash, role)
                .await
                .map_err(anyhow::Error::from)?;
            eprintln!("created {username} ({}) in {}", role.as_str(), tenant.name);
        }
        Command::Watch { .. } | Command::SendBulk { .. } => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    let url = format!("http://{}", app.local_addr());
    println!("listening on {url}");
    if let Some(demo) = app.demo_login() {
        println!(
            "demo tenant: open {url}/login and log in to workspace {} as {} / {}",
            demo.tenant, demo.username, demo.password
        );
        if let Some(token) = &demo.new_token {
            println!("demo tenant API token (shown once): {token}");
        }
    }
    app.run_until_stopped().await?;
    Ok(())
}
