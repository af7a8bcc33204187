//! Crash consistency of configure and restore: the real `tokenbuddy agents
//! configure|restore` is SIGKILLed at seeded random moments (a delay drawn
//! from the command's measured run time) and at every named step boundary
//! on purpose (`TOKENBUDDY_PAUSE_AT`: the process stops there and says so),
//! over several agents and formats (JSON, JSONC, JSON5, YAML, TOML) with
//! realistic files from `tests/fixtures/agents/`, and a fresh HOME where the
//! file and its folders are created. After the next start's reconciliation
//! every file is either the original or fully patched — never half-written —
//! the journal agrees with it (patched ⇔ journaled, nothing left pending, no
//! temp files), and restore gives back the original bytes.

mod support;

use std::io::{BufRead, BufReader};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::agent_home::{self, Home};
use support::seeded::XorShift as Rng;
use tokenbuddy::agents::commands::{self, Setup};
use tokenbuddy::agents::journal::Journal;
use tokenbuddy::agents::patch;
use tokenbuddy::agents::spec::{self, AgentSpec};

const RUNS: usize = 216;
/// One token for every run, so patched files are the same bytes each time.
const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// Longest a step may take before the test counts it as a hang.
const HANG: Duration = Duration::from_secs(20);

/// An agent and the file it starts from (`None`: a fresh HOME).
const CASES: &[(&str, Option<&str>)] = &[
    ("claude-code", Some("claude-code.settings.json")),
    ("opencode", Some("opencode.opencode.jsonc")),
    ("openclaw", Some("openclaw.object-model.json5")),
    ("hermes", Some("hermes.mapping.yaml")),
    ("codex", Some("codex.config.toml")),
    ("crush", None),
    // Two files each: the settings and `.env`; `_meta.json` and our entry.
    ("gemini-cli", None),
    ("claude-desktop", None),
];

/// What the killed command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Configure from the original file.
    Configure,
    /// Configure again, with another model, over a configured file.
    Reconfigure,
    /// Restore a configured file.
    Restore,
}

const OPS: [Op; 3] = [Op::Configure, Op::Reconfigure, Op::Restore];

struct Case {
    spec: &'static AgentSpec,
    original: Option<String>,
    /// The file after configure with model A, and after configure with B over it.
    patched_a: Vec<u8>,
    patched_b: Vec<u8>,
    /// Median run time of a configure and of a restore.
    configure_time: Duration,
    restore_time: Duration,
}

/// One run's HOME and data dir (with the fixed token), a case's file in it.
struct Run(Home);

impl Deref for Run {
    type Target = Home;
    fn deref(&self) -> &Home {
        &self.0
    }
}

impl Run {
    fn new(case: &Case) -> Run {
        let run = Run(Home::new());
        std::fs::write(run.data.path().join("token"), TOKEN).expect("token");
        if let Some(text) = &case.original {
            run.write(run.config(case.spec), text);
        }
        run
    }

    fn command(&self, case: &Case, op: Op) -> Command {
        let id = case.spec.id;
        match op {
            Op::Configure => self.0.command(&agent_home::configure_args(id, "model-a")),
            Op::Reconfigure => self.0.command(&agent_home::configure_args(id, "model-b")),
            Op::Restore => self.0.command(&["agents", "restore", id]),
        }
    }

    /// Runs `op` to the end; returns how long it took.
    fn complete(&self, case: &Case, op: Op) -> Duration {
        let start = Instant::now();
        let out = self.command(case, op).output().expect("run tokenbuddy");
        assert!(
            out.status.success(),
            "{} {op:?}: {}",
            case.spec.id,
            String::from_utf8_lossy(&out.stderr)
        );
        start.elapsed()
    }

    /// The configured starting state, without a process: the same code the
    /// CLI runs (only the killed command needs to be a real process).
    fn configure_in_process(&self, case: &Case) {
        let setup = Setup {
            home: self.home.path(),
            env: &|_| None,
            data_dir: self.data.path(),
            port: 7444,
            token: TOKEN,
            sellers: &[],
        };
        commands::configure(&setup, case.spec.id, Some("model-a"), false).expect("configure");
        assert_eq!(
            self.file(case).as_ref(),
            Some(&case.patched_a),
            "same bytes as the CLI"
        );
    }

    /// The config file's bytes, then each side file's after a marker line
    /// (`None` when none of them exists).
    fn file(&self, case: &Case) -> Option<Vec<u8>> {
        let main = self.config(case.spec);
        let mut bytes = std::fs::read(&main).ok();
        for side in patch::side_paths(case.spec, &main) {
            if let Ok(b) = std::fs::read(&side) {
                let all = bytes.get_or_insert_with(Vec::new);
                all.extend_from_slice(
                    format!(
                        "\n--- {}\n",
                        side.file_name().unwrap_or_default().to_string_lossy()
                    )
                    .as_bytes(),
                );
                all.extend_from_slice(&b);
            }
        }
        bytes
    }

    /// Every path under HOME and the data dir that is one of our temp files.
    fn leftovers(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![
            self.home.path().to_path_buf(),
            self.data.path().to_path_buf(),
        ];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.to_string_lossy().contains(".tokenbuddy-") {
                    found.push(p);
                }
            }
        }
        found
    }

    fn home_is_empty(&self) -> bool {
        std::fs::read_dir(self.home.path())
            .map(|mut d| d.next().is_none())
            .unwrap_or(false)
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn prepare(id: &str, fixture: Option<&str>) -> Case {
    let mut case = Case {
        spec: spec::find(id).expect("agent"),
        original: fixture.map(agent_home::fixture),
        patched_a: Vec::new(),
        patched_b: Vec::new(),
        configure_time: Duration::ZERO,
        restore_time: Duration::ZERO,
    };
    let (mut configures, mut restores) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let run = Run::new(&case);
        configures.push(run.complete(&case, Op::Configure));
        case.patched_a = run.file(&case).expect("patched");
        run.complete(&case, Op::Reconfigure);
        case.patched_b = run.file(&case).expect("patched");
        restores.push(run.complete(&case, Op::Restore));
        assert_eq!(
            run.file(&case).map(String::from_utf8).map(Result::unwrap),
            case.original,
            "{id}: a clean configure/restore round trip"
        );
    }
    case.configure_time = median(configures);
    case.restore_time = median(restores);
    case
}

/// The step boundaries a run of `op` passes, to stop at on purpose.
fn points(case: &Case, op: Op) -> Vec<String> {
    let name = case.spec.id;
    let file = (case.spec.config_path)(Path::new("/h"), &|_| None)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| panic!("{name}: no file"));
    let journal = "temp-written:agents-journal.json".to_string();
    // Side files are written before the config file.
    let sides = case
        .spec
        .side_files
        .iter()
        .map(|s| format!("temp-written:{}", s.name));
    match op {
        Op::Configure | Op::Reconfigure => [journal, "configure-journaled".into()]
            .into_iter()
            .chain(sides)
            .chain([format!("temp-written:{file}"), "configure-written".into()])
            .collect(),
        Op::Restore if case.original.is_none() => {
            vec!["restore-removed".into(), "restore-written".into(), journal]
        }
        Op::Restore => vec![
            format!("temp-written:{file}"),
            "restore-written".into(),
            journal,
        ],
    }
}

/// How a kill was aimed.
enum Aim {
    Point(String),
    Delay(Duration),
}

/// Starts `op` and kills it as aimed; returns whether the kill landed
/// (false: the command had finished first).
fn kill(run: &Run, case: &Case, op: Op, aim: &Aim) -> bool {
    let mut cmd = run.command(case, op);
    if let Aim::Point(p) = aim {
        cmd.env("TOKENBUDDY_PAUSE_AT", p);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tokenbuddy");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("paused at") {
                let _ = tx.send(());
            }
        }
    });
    match aim {
        Aim::Point(p) => {
            if rx.recv_timeout(HANG).is_err() {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} {op:?}: never paused at {p}", case.spec.id);
            }
        }
        Aim::Delay(d) => std::thread::sleep(*d),
    }
    let landed = matches!(child.try_wait(), Ok(None));
    let _ = child.kill(); // SIGKILL: no destructor, no cleanup of ours runs.
    let status = child.wait().expect("wait");
    landed && !status.success()
}

/// Where the killed command was, judged from what it left.
fn phase(run: &Run, case: &Case, op: Op, landed: bool) -> &'static str {
    if !landed {
        return "finished first";
    }
    let entry = Journal::new(run.data.path())
        .get(case.spec.id)
        .expect("journal");
    let file = run.file(case);
    let original = case.original.as_ref().map(|t| t.as_bytes().to_vec());
    match op {
        Op::Configure | Op::Reconfigure => {
            let old = if op == Op::Configure {
                original
            } else {
                Some(case.patched_a.clone())
            };
            match &entry {
                Some(e) if e.pending.is_some() && file == old => "journaled, file not yet written",
                Some(e) if e.pending.is_some() => "file written, not yet committed",
                Some(_) if file != old => "committed",
                _ => "before the journal",
            }
        }
        Op::Restore => match (&entry, file == original) {
            (Some(_), false) => "before the file was restored",
            (Some(_), true) => "file restored, entry not yet dropped",
            (None, _) => "entry dropped",
        },
    }
}

#[test]
fn kills_at_any_point_leave_original_or_patched_files_and_an_agreeing_journal() {
    let started = Instant::now();
    let cases: Vec<Case> = CASES.iter().map(|(id, f)| prepare(id, *f)).collect();
    let mut rng = Rng(0x5eed_c0de_2026_0008);
    let mut phases: std::collections::BTreeMap<String, usize> = Default::default();
    let (mut by_point, mut by_delay, mut original_after, mut patched_after) = (0, 0, 0, 0);
    for i in 0..RUNS {
        let case = &cases[i % cases.len()];
        let op = OPS[(i / cases.len()) % OPS.len()];
        let run = Run::new(case);
        if op != Op::Configure {
            run.configure_in_process(case);
        }
        let points = points(case, op);
        let aim = if rng.below(2) == 0 {
            by_point += 1;
            Aim::Point(points[rng.below(points.len())].clone())
        } else {
            by_delay += 1;
            let typical = match op {
                Op::Restore => case.restore_time,
                _ => case.configure_time,
            };
            let span = typical.as_micros() as u64 * 12 / 10;
            Aim::Delay(Duration::from_micros(rng.below(span.max(1) as usize) as u64))
        };
        let landed = kill(&run, case, op, &aim);
        let label = format!("{op:?}: {}", phase(&run, case, op, landed));
        *phases.entry(label).or_default() += 1;

        // The next start squares the journal with the files.
        patch::reconcile_at_startup(run.data.path());

        let what = format!(
            "run {i}: {} {op:?} killed at {}",
            case.spec.id,
            match &aim {
                Aim::Point(p) => p.clone(),
                Aim::Delay(d) => format!("{d:?}"),
            }
        );
        let journal = Journal::new(run.data.path());
        let entry = journal.get(case.spec.id).expect("journal");
        let file = run.file(case);
        let original = case.original.as_ref().map(|t| t.as_bytes().to_vec());
        let allowed = match op {
            Op::Configure | Op::Restore => [original.clone(), Some(case.patched_a.clone())],
            Op::Reconfigure => [Some(case.patched_a.clone()), Some(case.patched_b.clone())],
        };
        assert!(
            allowed.contains(&file),
            "{what}: the file is neither the original nor fully patched:\n{}",
            String::from_utf8_lossy(file.as_deref().unwrap_or_default())
        );
        assert!(
            run.leftovers().is_empty(),
            "{what}: temp files left: {:?}",
            run.leftovers()
        );
        match &entry {
            Some(e) => {
                assert!(
                    e.pending.is_none(),
                    "{what}: still pending after reconciliation"
                );
                assert!(file.is_some(), "{what}: a journaled file exists");
                let read = patch::read_all(case.spec, &run.config(case.spec)).expect("parses");
                assert!(
                    patch::holds(&read.doc, e),
                    "{what}: journaled but not patched"
                );
                patched_after += 1;
            }
            None => {
                assert_eq!(file, original, "{what}: not journaled but patched");
                if case.original.is_none() {
                    assert!(run.home_is_empty(), "{what}: created folders left behind");
                }
                original_after += 1;
            }
        }

        // And restore gives back the original bytes.
        if entry.is_some() {
            run.complete(case, Op::Restore);
        }
        assert_eq!(run.file(case), original, "{what}: restore");
        assert!(
            journal.all().expect("journal").is_empty(),
            "{what}: journal"
        );
        if case.original.is_none() {
            assert!(
                run.home_is_empty(),
                "{what}: restore leaves a fresh HOME fresh"
            );
        }
    }
    let kills: usize = phases
        .iter()
        .filter(|(k, _)| !k.ends_with("finished first"))
        .map(|(_, n)| n)
        .sum();
    println!(
        "crash_agents: {RUNS} runs ({by_point} at named points, {by_delay} after seeded delays), {kills} kills landed, in {:?}",
        started.elapsed()
    );
    for (phase, n) in &phases {
        println!("crash_agents:   {n:>4}  {phase}");
    }
    println!(
        "crash_agents: after reconciliation {original_after} original, {patched_after} fully patched; every restore gave the original bytes"
    );
    for case in &cases {
        println!(
            "crash_agents:   {:<12} configure {:?}, restore {:?} (median)",
            case.spec.id, case.configure_time, case.restore_time
        );
    }
    // A run stopped at a named point is always killed there; delays land
    // where they land (their spread is what the phase counts show).
    assert!(kills >= by_point, "a paused run was not killed: {phases:?}");
}
