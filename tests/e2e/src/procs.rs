//! The dfuse processes of this machine, found through /proc the way an operator would.

use std::path::{Path, PathBuf};

/// A running process: pid, argv, and the DAOS agent directory in its environment.
#[derive(Clone, Debug)]
pub struct ProcessInfo {
    pub pid: i32,
    pub argv: Vec<String>,
    pub agent_dir: Option<PathBuf>,
}

fn read_nul_separated(path: &Path) -> Option<Vec<String>> {
    let bytes = std::fs::read(path).ok()?;
    Some(
        bytes
            .split(|b| *b == 0)
            .filter(|part| !part.is_empty())
            .map(|part| String::from_utf8_lossy(part).into_owned())
            .collect(),
    )
}

fn process(pid: i32) -> Option<ProcessInfo> {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let argv = read_nul_separated(&dir.join("cmdline"))?;
    // A zombie (killed, not yet reaped) has an empty cmdline and no longer serves anything.
    if argv.is_empty() {
        return None;
    }
    let agent_dir = read_nul_separated(&dir.join("environ")).and_then(|env| {
        env.iter()
            .find_map(|kv| kv.strip_prefix("DAOS_AGENT_DRPC_DIR=").map(PathBuf::from))
    });
    Some(ProcessInfo {
        pid,
        argv,
        agent_dir,
    })
}

/// The parent pid of `pid`, from /proc/<pid>/stat (the field after the parenthesised name).
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// `pid` and every process descended from it, gathered before anything is signalled so
/// that no child gets re-parented away while we look.
pub fn process_tree(pid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![pid];
    };
    let parents: Vec<(i32, i32)> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|p| Some((p, parent_of(p)?)))
        .collect();
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree
}

pub fn processes() -> Vec<ProcessInfo> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(process)
        .collect()
}

impl ProcessInfo {
    pub fn is_dfuse(&self) -> bool {
        self.argv.first().is_some_and(|arg0| {
            Path::new(arg0)
                .file_name()
                .is_some_and(|name| name.to_string_lossy() == "dfuse")
        })
    }

    pub fn mentions(&self, text: &str) -> bool {
        self.argv.iter().any(|arg| arg.contains(text))
    }

    pub fn is_alive(&self) -> bool {
        process(self.pid).is_some_and(|now| now.argv == self.argv)
    }

    /// dfuse's command line, read as dfuse reads it.
    pub fn dfuse_command(&self) -> DfuseCommand {
        DfuseCommand::parse(&self.argv[1..])
    }
}

/// Every live dfuse process whose command line mentions `text` (a mount point, a label).
pub fn dfuse_mentioning(text: &str) -> Vec<ProcessInfo> {
    processes()
        .into_iter()
        .filter(|p| p.is_dfuse() && p.mentions(text))
        .collect()
}

/// Every live dfuse process started for the DAOS system whose agent lives in `agent_dir`.
pub fn dfuse_of_system(agent_dir: &Path) -> Vec<ProcessInfo> {
    processes()
        .into_iter()
        .filter(|p| p.is_dfuse() && p.agent_dir.as_deref() == Some(agent_dir))
        .collect()
}

/// The parts of a dfuse command line the tests look at.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DfuseCommand {
    pub mount_point: Option<String>,
    pub pool: Option<String>,
    pub container: Option<String>,
    pub system: Option<String>,
    /// Every option as given, `--name` or `--name=value` (value options normalised to `=`).
    pub options: Vec<String>,
}

const DFUSE_VALUE_OPTIONS: &[&str] = &[
    "-m",
    "--mountpoint",
    "--pool",
    "--container",
    "--sys-name",
    "-t",
    "--thread-count",
    "-e",
    "--eq-count",
    "-o",
    "--path",
    "--dump-handles",
    "--read-handles",
    "--snap",
    "--snap-epoch",
];

impl DfuseCommand {
    pub fn parse(args: &[String]) -> DfuseCommand {
        let mut command = DfuseCommand::default();
        let mut positionals = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            if !arg.starts_with('-') {
                positionals.push(arg.clone());
                continue;
            }
            let (name, value) = match arg.split_once('=') {
                Some((name, value)) => (name.to_string(), Some(value.to_string())),
                None if DFUSE_VALUE_OPTIONS.contains(&arg.as_str()) && i < args.len() => {
                    i += 1;
                    (arg.clone(), Some(args[i - 1].clone()))
                }
                None => (arg.clone(), None),
            };
            match (name.as_str(), &value) {
                ("-m" | "--mountpoint", Some(v)) => command.mount_point = Some(v.clone()),
                ("--pool", Some(v)) => command.pool = Some(v.clone()),
                ("--container", Some(v)) => command.container = Some(v.clone()),
                ("--sys-name", Some(v)) => command.system = Some(v.clone()),
                _ => {}
            }
            command.options.push(match value {
                Some(v) => format!("{name}={v}"),
                None => name,
            });
        }
        let mut positionals = positionals.into_iter();
        if command.mount_point.is_none() {
            command.mount_point = positionals.next();
        }
        if command.pool.is_none() {
            command.pool = positionals.next();
        }
        if command.container.is_none() {
            command.container = positionals.next();
        }
        command
    }

    /// The value of the first of `names` given (`-t` or `--thread-count`, say).
    pub fn option_value(&self, names: &[&str]) -> Option<String> {
        self.options.iter().find_map(|o| {
            let (name, value) = o.split_once('=')?;
            names.contains(&name).then(|| value.to_string())
        })
    }

    pub fn has_option(&self, name: &str) -> bool {
        self.options
            .iter()
            .any(|o| o == name || o.starts_with(&format!("{name}=")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn positional_form() {
        let c = DfuseCommand::parse(&strings(&[
            "--multi-user",
            "-t",
            "4",
            "--sys-name=daos_server",
            "/mnt/x",
            "tank",
            "cont",
        ]));
        assert_eq!(c.mount_point.as_deref(), Some("/mnt/x"));
        assert_eq!(c.pool.as_deref(), Some("tank"));
        assert_eq!(c.container.as_deref(), Some("cont"));
        assert_eq!(c.system.as_deref(), Some("daos_server"));
        assert!(c.has_option("--multi-user"));
        assert!(c.has_option("-t"));
        assert_eq!(
            c.option_value(&["-t", "--thread-count"]).as_deref(),
            Some("4")
        );
        assert_eq!(c.option_value(&["-e", "--eq-count"]), None);
    }

    #[test]
    fn option_form() {
        let c = DfuseCommand::parse(&strings(&[
            "--mountpoint",
            "/mnt/y",
            "--pool=p",
            "--container",
            "c",
            "-f",
        ]));
        assert_eq!(c.mount_point.as_deref(), Some("/mnt/y"));
        assert_eq!(c.pool.as_deref(), Some("p"));
        assert_eq!(c.container.as_deref(), Some("c"));
        assert!(c.has_option("-f"));
    }
}
