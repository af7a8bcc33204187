//! The terminal emulators TokenBuddy knows, one entry each: how to find
//! them, how to recognise running inside one, and how to open a command.

/// Operating systems an entry applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    /// Linux and other Unix desktops.
    Linux,
    /// macOS.
    Mac,
    /// Windows.
    Windows,
}

impl Os {
    /// The OS this build runs on.
    pub fn current() -> Os {
        if cfg!(target_os = "macos") {
            Os::Mac
        } else if cfg!(windows) {
            Os::Windows
        } else {
            Os::Linux
        }
    }
}

/// One terminal emulator.
#[derive(Debug, Clone, Copy)]
pub struct TerminalSpec {
    /// Stable id.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Where it exists.
    pub os: &'static [Os],
    /// Executables looked up on PATH.
    pub binaries: &'static [&'static str],
    /// App bundles or install folders (`~/` is home).
    pub apps: &'static [&'static str],
    /// Environment variables set inside it (the first is the strongest sign),
    /// or `TERM_PROGRAM=<value>`.
    pub inside: &'static [&'static str],
    /// How to run a command in a new window: the arguments before the command.
    pub run: &'static [&'static str],
}

const L: &[Os] = &[Os::Linux];
const M: &[Os] = &[Os::Mac];
const W: &[Os] = &[Os::Windows];
const LM: &[Os] = &[Os::Linux, Os::Mac];
const ALL: &[Os] = &[Os::Linux, Os::Mac, Os::Windows];

/// Every known terminal, in the order TokenBuddy prefers them per OS.
pub const TERMINALS: &[TerminalSpec] = &[
    TerminalSpec {
        id: "xdg-terminal-exec",
        name: "Default terminal (xdg-terminal-exec)",
        os: L,
        binaries: &["xdg-terminal-exec"],
        apps: &[],
        inside: &[],
        run: &[],
    },
    TerminalSpec {
        id: "x-terminal-emulator",
        name: "Default terminal (x-terminal-emulator)",
        os: L,
        binaries: &["x-terminal-emulator"],
        apps: &[],
        inside: &[],
        run: &["-e"],
    },
    TerminalSpec {
        id: "gnome-terminal",
        name: "GNOME Terminal",
        os: L,
        binaries: &["gnome-terminal"],
        apps: &[],
        inside: &["GNOME_TERMINAL_SCREEN", "GNOME_TERMINAL_SERVICE"],
        run: &["--"],
    },
    TerminalSpec {
        id: "ptyxis",
        name: "Ptyxis",
        os: L,
        binaries: &["ptyxis"],
        apps: &["/var/lib/flatpak/exports/bin/app.devsuite.Ptyxis"],
        inside: &["PTYXIS_VERSION"],
        run: &["--"],
    },
    TerminalSpec {
        id: "gnome-console",
        name: "GNOME Console",
        os: L,
        binaries: &["kgx"],
        apps: &[],
        inside: &[],
        run: &["--"],
    },
    TerminalSpec {
        id: "konsole",
        name: "Konsole",
        os: L,
        binaries: &["konsole"],
        apps: &[],
        inside: &["KONSOLE_VERSION", "KONSOLE_DBUS_SESSION"],
        run: &["-e"],
    },
    TerminalSpec {
        id: "xfce4-terminal",
        name: "Xfce Terminal",
        os: L,
        binaries: &["xfce4-terminal"],
        apps: &[],
        inside: &[],
        run: &["-x"],
    },
    TerminalSpec {
        id: "tilix",
        name: "Tilix",
        os: L,
        binaries: &["tilix"],
        apps: &[],
        inside: &["TILIX_ID"],
        run: &["-e"],
    },
    TerminalSpec {
        id: "terminator",
        name: "Terminator",
        os: L,
        binaries: &["terminator"],
        apps: &[],
        inside: &["TERMINATOR_UUID"],
        run: &["-x"],
    },
    TerminalSpec {
        id: "foot",
        name: "foot",
        os: L,
        binaries: &["foot", "footclient"],
        apps: &[],
        inside: &["TERM=foot"],
        run: &[],
    },
    TerminalSpec {
        id: "mate-terminal",
        name: "MATE Terminal",
        os: L,
        binaries: &["mate-terminal"],
        apps: &[],
        inside: &[],
        run: &["-x"],
    },
    TerminalSpec {
        id: "qterminal",
        name: "QTerminal",
        os: L,
        binaries: &["qterminal"],
        apps: &[],
        inside: &[],
        run: &["-e"],
    },
    TerminalSpec {
        id: "lxterminal",
        name: "LXTerminal",
        os: L,
        binaries: &["lxterminal"],
        apps: &[],
        inside: &[],
        run: &["-e"],
    },
    TerminalSpec {
        id: "terminal-app",
        name: "Terminal",
        os: M,
        binaries: &[],
        apps: &[
            "/System/Applications/Utilities/Terminal.app",
            "/Applications/Utilities/Terminal.app",
        ],
        inside: &["TERM_PROGRAM=Apple_Terminal"],
        run: &["open", "-b", "com.apple.Terminal"],
    },
    TerminalSpec {
        id: "iterm2",
        name: "iTerm2",
        os: M,
        binaries: &[],
        apps: &["/Applications/iTerm.app", "~/Applications/iTerm.app"],
        inside: &["ITERM_SESSION_ID", "TERM_PROGRAM=iTerm.app"],
        run: &["open", "-a", "iTerm"],
    },
    TerminalSpec {
        id: "windows-terminal",
        name: "Windows Terminal",
        os: W,
        binaries: &["wt"],
        apps: &["~/AppData/Local/Microsoft/WindowsApps/wt.exe"],
        inside: &["WT_SESSION"],
        run: &["-d", "."],
    },
    TerminalSpec {
        id: "pwsh",
        name: "PowerShell 7",
        os: W,
        binaries: &["pwsh"],
        apps: &["C:/Program Files/PowerShell/7/pwsh.exe"],
        inside: &[],
        run: &["-NoExit", "-Command"],
    },
    TerminalSpec {
        id: "powershell",
        name: "Windows PowerShell",
        os: W,
        binaries: &["powershell"],
        apps: &[],
        inside: &["PSModulePath"],
        run: &["-NoExit", "-Command"],
    },
    TerminalSpec {
        id: "cmd",
        name: "Command Prompt",
        os: W,
        binaries: &["cmd"],
        apps: &[],
        inside: &[],
        run: &["/k"],
    },
    TerminalSpec {
        id: "ghostty",
        name: "Ghostty",
        os: LM,
        binaries: &["ghostty"],
        apps: &["/Applications/Ghostty.app"],
        inside: &["GHOSTTY_RESOURCES_DIR", "TERM_PROGRAM=ghostty"],
        run: &["-e"],
    },
    TerminalSpec {
        id: "wezterm",
        name: "WezTerm",
        os: ALL,
        binaries: &["wezterm", "wezterm-gui"],
        apps: &[
            "/Applications/WezTerm.app",
            "C:/Program Files/WezTerm/wezterm-gui.exe",
        ],
        inside: &["WEZTERM_PANE", "TERM_PROGRAM=WezTerm"],
        run: &["start", "--"],
    },
    TerminalSpec {
        id: "alacritty",
        name: "Alacritty",
        os: ALL,
        binaries: &["alacritty"],
        apps: &[
            "/Applications/Alacritty.app",
            "C:/Program Files/Alacritty/alacritty.exe",
        ],
        inside: &["ALACRITTY_WINDOW_ID", "ALACRITTY_SOCKET"],
        run: &["-e"],
    },
    TerminalSpec {
        id: "kitty",
        name: "kitty",
        os: LM,
        binaries: &["kitty"],
        apps: &["/Applications/kitty.app", "~/.local/kitty.app/bin/kitty"],
        inside: &["KITTY_WINDOW_ID", "TERM=xterm-kitty"],
        run: &[],
    },
    TerminalSpec {
        id: "warp",
        name: "Warp",
        os: ALL,
        binaries: &["warp-terminal"],
        apps: &[
            "/Applications/Warp.app",
            "~/AppData/Local/Programs/Warp/warp.exe",
        ],
        inside: &["TERM_PROGRAM=WarpTerminal"],
        run: &[],
    },
    TerminalSpec {
        id: "hyper",
        name: "Hyper",
        os: ALL,
        binaries: &["hyper"],
        apps: &["/Applications/Hyper.app"],
        inside: &["TERM_PROGRAM=Hyper"],
        run: &[],
    },
    TerminalSpec {
        id: "tabby",
        name: "Tabby",
        os: ALL,
        binaries: &["tabby"],
        apps: &["/Applications/Tabby.app"],
        inside: &["TERM_PROGRAM=Tabby"],
        run: &[],
    },
    TerminalSpec {
        id: "xterm",
        name: "XTerm",
        os: L,
        binaries: &["xterm"],
        apps: &[],
        inside: &["XTERM_VERSION"],
        run: &["-e"],
    },
    TerminalSpec {
        id: "urxvt",
        name: "rxvt-unicode",
        os: L,
        binaries: &["urxvt"],
        apps: &[],
        inside: &[],
        run: &["-e"],
    },
];
