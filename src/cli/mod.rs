//! Command-line arguments and what each command does with the core.

mod agents;
mod open;
mod pause;
mod requests;
mod route;
mod sellers;
mod serve;
mod usage;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokenbuddy::config::{self, DATA_DIR_ENV, DEFAULT_PORT};

/// TokenBuddy: one local endpoint for every coding agent, routed to the best seller.
#[derive(Debug, Parser)]
#[command(name = "tokenbuddy", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives (shared by every command).
#[derive(Debug, clap::Args)]
struct DataDir {
    /// Data directory (token, sellers.yaml). Default: the per-OS app data dir.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

impl DataDir {
    fn resolve(&self) -> Result<PathBuf, String> {
        self.data_dir
            .clone()
            .or_else(config::default_data_dir)
            .ok_or_else(|| {
                format!("no home directory found: pass --data-dir or set {DATA_DIR_ENV}")
            })
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the proxy and control panel on 127.0.0.1 until Ctrl-C.
    Serve {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = DEFAULT_PORT)]
        port: u16,
        #[command(flatten)]
        data: DataDir,
        /// Also start three simulated sellers and route to them (no API key needed),
        /// with a light simulated client load (agent "demo") so the panel shows life.
        #[arg(long)]
        demo: bool,
        /// With --demo: the simulated client load; `off` (or TOKENBUDDY_DEMO_LOAD=0) turns it off.
        #[arg(long, env = "TOKENBUDDY_DEMO_LOAD", value_name = "on|off",
              default_value = "on", value_parser = on_off, action = clap::ArgAction::Set)]
        demo_load: bool,
    },
    /// Switch the running TokenBuddy's proxy off: agents' requests get 503 `paused`.
    Pause {
        /// Port of the running TokenBuddy.
        #[arg(long, default_value_t = DEFAULT_PORT)]
        port: u16,
        #[command(flatten)]
        data: DataDir,
    },
    /// Switch the running TokenBuddy's proxy back on.
    Resume {
        /// Port of the running TokenBuddy.
        #[arg(long, default_value_t = DEFAULT_PORT)]
        port: u16,
        #[command(flatten)]
        data: DataDir,
    },
    /// Open the control panel of the running TokenBuddy in the default browser.
    Open {
        /// Print the panel's URL (it carries the access token) instead of opening it.
        #[arg(long)]
        print: bool,
        /// Port of the running TokenBuddy.
        #[arg(long, default_value_t = DEFAULT_PORT)]
        port: u16,
        #[command(flatten)]
        data: DataDir,
    },
    /// Print the control API's OpenAPI document (what `/api/openapi.json` serves).
    Openapi,
    /// Print the access token agents must send.
    Token {
        #[command(flatten)]
        data: DataDir,
    },
    /// List coding agents and their state; point one at TokenBuddy, or put it back.
    Agents {
        #[command(subcommand)]
        command: Option<AgentsCommand>,
        /// Print JSON (the list).
        #[arg(long)]
        json: bool,
        /// The port TokenBuddy listens on.
        #[arg(long, default_value_t = DEFAULT_PORT)]
        port: u16,
        #[command(flatten)]
        data: DataDir,
    },
    /// List installed terminal emulators (the one TokenBuddy would open is starred).
    Terminals {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check the set-up: port, token, sellers, configured agents, shadowing variables.
    Doctor {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The port TokenBuddy listens on.
        #[arg(long, default_value_t = DEFAULT_PORT)]
        port: u16,
        #[command(flatten)]
        data: DataDir,
    },
    /// The newest requests, oldest first (like `tail`); `--follow` prints new ones as they come.
    Requests {
        /// Keep printing requests as the running TokenBuddy finishes them, until Ctrl-C.
        #[arg(long, short)]
        follow: bool,
        /// How many of the newest requests to print first.
        #[arg(long, short = 'n', default_value_t = 20)]
        limit: usize,
        /// Print one JSON object per line.
        #[arg(long)]
        json: bool,
        /// Port of the running TokenBuddy (for --follow).
        #[arg(long, default_value_t = DEFAULT_PORT)]
        port: u16,
        #[command(flatten)]
        data: DataDir,
    },
    /// Tokens and cost by seller, model, agent or day.
    Usage {
        /// From how long ago (7d, 12h) or from a date (2025-01-31).
        #[arg(long, default_value = "7d")]
        since: String,
        /// Group by seller, model, agent or day.
        #[arg(long, default_value = "seller")]
        by: String,
        /// Print JSON.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print CSV (a header row; opens in a spreadsheet).
        #[arg(long)]
        csv: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// List, add, edit or remove sellers in sellers.yaml (in place; keys kept outside the file).
    Sellers {
        #[command(subcommand)]
        command: Option<SellersCommand>,
        /// Print JSON (the list).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Ask the running TokenBuddy how it routes, or change it.
    Route {
        #[command(subcommand)]
        command: RouteCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AgentsCommand {
    /// Edit the agent's config (only the keys TokenBuddy owns) to use TokenBuddy.
    Configure {
        /// The agent (see `tokenbuddy agents`).
        id: String,
        /// The model it should ask for (default: its current one, else a seller's first model).
        #[arg(long)]
        model: Option<String>,
        /// The port TokenBuddy listens on.
        #[arg(long, default_value_t = DEFAULT_PORT)]
        port: u16,
        /// Show the diff; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Put back what the agent's config held before TokenBuddy configured it.
    Restore {
        /// The agent.
        #[arg(required_unless_present = "all")]
        id: Option<String>,
        /// Every agent TokenBuddy configured.
        #[arg(long, conflicts_with = "id")]
        all: bool,
        /// Show the diff; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Debug, Subcommand)]
enum SellersCommand {
    /// The sellers in the file, with where each key comes from (never the key).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Append a seller to sellers.yaml.
    Add {
        /// Its id: letters, digits, '.', '_' or '-'.
        id: String,
        #[command(flatten)]
        fields: sellers::Fields,
        #[command(flatten)]
        data: DataDir,
    },
    /// Change a seller's fields (only those given).
    Edit {
        /// The seller.
        id: String,
        #[command(flatten)]
        fields: sellers::Fields,
        #[command(flatten)]
        data: DataDir,
    },
    /// Remove a seller and its stored key.
    Remove {
        /// The seller.
        id: String,
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Debug, Subcommand)]
enum RouteCommand {
    /// Change the routing of the running TokenBuddy (the next request obeys).
    Set {
        /// fixed, fixedSet or fullAuto.
        #[arg(long)]
        mode: String,
        /// speed, discount or balanced (default: the scorer in force).
        #[arg(long)]
        scorer: Option<String>,
        /// The seller of `--mode fixed`.
        #[arg(long, conflicts_with = "set")]
        seller: Option<String>,
        /// The sellers of `--mode fixedSet`, comma-separated.
        #[arg(long, value_delimiter = ',')]
        set: Vec<String>,
        /// With `--mode fixed`: never try another seller when the fixed one fails.
        #[arg(long)]
        no_failover: bool,
        /// Port of the running TokenBuddy.
        #[arg(long, default_value_t = DEFAULT_PORT)]
        port: u16,
        #[command(flatten)]
        data: DataDir,
    },
    /// The sellers a request would try, in order, with score breakdowns and exclusions.
    Explain {
        /// The model the request asks for.
        #[arg(long)]
        model: String,
        /// Its protocol: openai-chat, openai-responses or anthropic-messages.
        #[arg(long, default_value = "openai-chat")]
        protocol: String,
        /// Port of the running TokenBuddy.
        #[arg(long, default_value_t = DEFAULT_PORT)]
        port: u16,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDir,
    },
}

/// What a command that asks the running TokenBuddy needs: its token (from
/// the data dir) and a runtime to wait on the answer with.
fn api_client(data_dir: &std::path::Path) -> Result<(String, tokio::runtime::Runtime), String> {
    let token = tokenbuddy::token::read(data_dir)
        .map_err(|e| format!("{e} (has TokenBuddy run with this data dir?)"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    Ok((token, runtime))
}

/// An on/off switch as a flag value or environment variable.
fn on_off(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "1" | "true" | "yes" => Ok(true),
        "off" | "0" | "false" | "no" => Ok(false),
        other => Err(format!("`{other}` is not on or off")),
    }
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    tokenbuddy::logging::init();
    let result = match cli.command {
        Command::Serve {
            port,
            data,
            demo,
            demo_load,
        } => data
            .resolve()
            .and_then(|dir| serve::run(port, dir, demo, demo_load)),
        Command::Pause { port, data } => {
            data.resolve().and_then(|dir| pause::run(&dir, port, false))
        }
        Command::Resume { port, data } => {
            data.resolve().and_then(|dir| pause::run(&dir, port, true))
        }
        Command::Open { print, port, data } => {
            data.resolve().and_then(|dir| open::run(&dir, port, print))
        }
        Command::Openapi => {
            print!("{}", tokenbuddy::control::openapi::pretty());
            Ok(())
        }
        Command::Token { data } => data.resolve().and_then(|dir| {
            tokenbuddy::token::load_or_create(&dir)
                .map(|t| println!("{t}"))
                .map_err(|e| e.to_string())
        }),
        Command::Agents {
            command: None,
            json,
            port,
            data,
        } => data
            .resolve()
            .and_then(|dir| agents::list(&dir, port, json)),
        Command::Agents {
            command:
                Some(AgentsCommand::Configure {
                    id,
                    model,
                    port,
                    dry_run,
                    data,
                }),
            ..
        } => data.resolve().and_then(|dir| {
            tokenbuddy::agents::patch::reconcile_at_startup(&dir);
            agents::configure(&dir, &id, model.as_deref(), port, dry_run)
        }),
        Command::Agents {
            command:
                Some(AgentsCommand::Restore {
                    id,
                    all,
                    dry_run,
                    data,
                }),
            ..
        } => data.resolve().and_then(|dir| {
            tokenbuddy::agents::patch::reconcile_at_startup(&dir);
            agents::restore(&dir, id.as_deref(), all, dry_run)
        }),
        Command::Terminals { json } => agents::terminals(json),
        Command::Doctor { json, port, data } => data
            .resolve()
            .and_then(|dir| agents::doctor(&dir, port, json)),
        Command::Requests {
            follow,
            limit,
            json,
            port,
            data,
        } => data.resolve().and_then(|dir| {
            let tail = requests::Tail {
                limit,
                follow,
                json,
                port,
            };
            requests::run(&dir, &tail)
        }),
        Command::Usage {
            since,
            by,
            json,
            csv,
            data,
        } => data.resolve().and_then(|dir| {
            let format = match (json, csv) {
                (true, _) => usage::Format::Json,
                (_, true) => usage::Format::Csv,
                _ => usage::Format::Table,
            };
            usage::run(&dir, &since, &by, format)
        }),
        Command::Sellers {
            command: None,
            json,
            data,
        } => data.resolve().and_then(|dir| sellers::list(&dir, json)),
        Command::Sellers {
            command: Some(command),
            ..
        } => match command {
            SellersCommand::List { json, data } => {
                data.resolve().and_then(|dir| sellers::list(&dir, json))
            }
            SellersCommand::Add { id, fields, data } => data
                .resolve()
                .and_then(|dir| sellers::add(&dir, &id, fields)),
            SellersCommand::Edit { id, fields, data } => data
                .resolve()
                .and_then(|dir| sellers::edit(&dir, &id, fields)),
            SellersCommand::Remove { id, data } => {
                data.resolve().and_then(|dir| sellers::remove(&dir, &id))
            }
        },
        Command::Route {
            command:
                RouteCommand::Explain {
                    model,
                    protocol,
                    port,
                    json,
                    data,
                },
        } => data.resolve().and_then(|dir| {
            let what = route::Explain {
                model: &model,
                protocol: &protocol,
                port,
                json,
            };
            route::explain(&dir, &what)
        }),
        Command::Route {
            command:
                RouteCommand::Set {
                    mode,
                    scorer,
                    seller,
                    set,
                    no_failover,
                    port,
                    data,
                },
        } => data.resolve().and_then(|dir| {
            let what = route::Set {
                mode: &mode,
                scorer: scorer.as_deref(),
                seller: seller.as_deref(),
                set: &set,
                no_failover,
                port,
            };
            route::set(&dir, &what)
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tokenbuddy: {message}");
            ExitCode::FAILURE
        }
    }
}
