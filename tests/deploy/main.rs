//! The deployment files cannot be run here (no container engine), so they are parsed and
//! checked against the binary they deploy: every command and `TWOSTEP_*` variable they
//! use must be one `twostep --help` documents.

use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_twostep"))
        .args(args)
        .arg("--help")
        .output()
        .expect("run twostep --help");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("utf-8 help")
}

fn load(path: &Path) -> Vec<Yaml> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `TWOSTEP_*` name in `text` is documented by `twostep --help`.
fn assert_known_variables(text: &str, file: &str) {
    let documented = help(&[]);
    for (i, _) in text.match_indices("TWOSTEP_") {
        let name: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_')
            .collect();
        assert!(
            documented.contains(&format!("[env: {name}")),
            "{file} uses {name}, which twostep does not know"
        );
    }
}

fn assert_command(args: &[String], file: &str) {
    let commands = ["serve", "worker", "migrate", "openapi"];
    let command = args.first().unwrap_or_else(|| panic!("{file}: no command"));
    assert!(
        commands.contains(&command.as_str()),
        "{file}: unknown command {command}"
    );
    // The subcommand's own flags must exist too.
    let sub_help = help(&[command.as_str()]);
    for flag in args.iter().skip(1).filter(|a| a.starts_with("--")) {
        let name = flag.split('=').next().unwrap_or(flag);
        assert!(
            sub_help.contains(name),
            "{file}: {command} has no flag {name}"
        );
    }
}

fn strings(value: &Yaml) -> Vec<String> {
    value
        .as_vec()
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn compose_file_runs_known_commands() {
    let path = deploy_dir().join("docker-compose.yml");
    let docs = load(&path);
    let services = docs[0]["services"].as_hash().expect("services");
    let mut commands = Vec::new();
    for (name, service) in services {
        let name = name.as_str().expect("service name");
        assert!(
            !service["image"].is_badvalue() || !service["build"].is_badvalue(),
            "{name} has neither image nor build"
        );
        if !service["build"].is_badvalue() {
            let dockerfile = service["build"]["dockerfile"].as_str().expect("dockerfile");
            assert!(
                deploy_dir().join("..").join(dockerfile).exists(),
                "{dockerfile} is missing"
            );
            let command = strings(&service["command"]);
            assert_command(&command, "docker-compose.yml");
            commands.push(command[0].clone());
        }
    }
    for expected in ["migrate", "serve", "worker"] {
        assert!(
            commands.contains(&expected.to_owned()),
            "no {expected} service"
        );
    }
    assert_known_variables(
        &std::fs::read_to_string(&path).unwrap(),
        "docker-compose.yml",
    );
}

#[test]
fn kubernetes_manifests_are_well_formed() {
    let path = deploy_dir().join("kubernetes/twostep.yaml");
    let docs = load(&path);
    let kinds: Vec<_> = docs
        .iter()
        .map(|d| d["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["Job", "Deployment", "Deployment", "Service"]);
    for doc in &docs {
        assert!(doc["apiVersion"].as_str().is_some() && doc["metadata"]["name"].as_str().is_some());
    }
    for doc in &docs[..3] {
        for container in doc["spec"]["template"]["spec"]["containers"]
            .as_vec()
            .expect("containers")
        {
            assert_command(&strings(&container["args"]), "kubernetes/twostep.yaml");
        }
    }
    let deployment = &docs[1];
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(
        deployment["spec"]["selector"]["matchLabels"], *labels,
        "the selector does not select the pods"
    );
    assert_eq!(
        docs[3]["spec"]["selector"], *labels,
        "the Service does not select the API pods"
    );
    let worker = &docs[2];
    assert_eq!(
        worker["spec"]["selector"]["matchLabels"], worker["spec"]["template"]["metadata"]["labels"],
        "the worker selector does not select its pods"
    );
    assert_ne!(
        worker["spec"]["template"]["metadata"]["labels"], *labels,
        "the Service would route to workers"
    );
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/readyz")
    );
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
    assert_known_variables(
        &std::fs::read_to_string(&path).unwrap(),
        "kubernetes/twostep.yaml",
    );
}

#[test]
fn dockerfile_builds_and_runs_the_binary() {
    let text = std::fs::read_to_string(deploy_dir().join("Dockerfile")).unwrap();
    let instructions: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        instructions.iter().filter(|i| **i == "FROM").count(),
        2,
        "a build stage and a runtime stage"
    );
    assert!(text.contains("cargo build --release --locked --bin twostep"));
    assert!(text.contains("ENTRYPOINT [\"twostep\"]") && text.contains("CMD [\"serve\"]"));
    assert!(
        text.contains("USER twostep"),
        "the service must not run as root"
    );
    assert_known_variables(&text, "Dockerfile");
}
