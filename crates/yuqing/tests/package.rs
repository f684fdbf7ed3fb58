//! The Debian package. `packaging/build-deb` builds it here from the binary under test, uncompressed
//! so this stays within seconds (a release package is `packaging/build-deb` with no arguments: a
//! release build, xz). The test reads back the package's control file, contents and maintainer
//! scripts, runs the packaged binary's `init --system`, and checks the systemd unit with
//! `systemd-analyze verify` where systemd is installed.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed:\n{}\n{}", stdout(&out), stderr(&out));
    stdout(&out)
}

fn has(tool: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().is_ok_and(|o| o.status.success())
}

#[test]
fn the_package_holds_the_binary_unit_user_and_scripts_and_its_unit_verifies() {
    assert!(has("dpkg-deb"), "dpkg-deb is needed to build the package (Debian: apt-get install dpkg)");
    let tmp = tempfile::tempdir().unwrap();
    let root = repo_root();
    let deb = sh(Command::new(root.join("packaging/build-deb"))
        .env("YUQING_BIN", bin())
        .env("OUT_DIR", tmp.path())
        .env("DEB_COMPRESS", "none"));
    let deb = Path::new(deb.trim()).to_path_buf();
    assert!(deb.is_file(), "{deb:?}");
    let version = env!("CARGO_PKG_VERSION");
    assert!(deb.file_name().unwrap().to_string_lossy().starts_with(&format!("yuqing_{version}_")), "{deb:?}");

    // Control fields.
    let info = sh(Command::new("dpkg-deb").arg("--field").arg(&deb));
    for want in ["Package: yuqing", &format!("Version: {version}"), "Depends: ", "Installed-Size: "] {
        assert!(info.contains(want), "{want} missing:\n{info}");
    }
    assert!(["@VERSION@", "@ARCH@", "@SIZE@"].iter().all(|p| !info.contains(p)), "unfilled placeholder:\n{info}");

    // Contents: files owned by root, at their places.
    let list = sh(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    for path in [
        "./usr/bin/yuqing",
        "./lib/systemd/system/yuqing.service",
        "./usr/lib/sysusers.d/yuqing.conf",
        "./etc/default/yuqing",
        "./usr/share/doc/yuqing/OPERATIONS.md",
        "./usr/share/doc/yuqing/yuqing.example.toml",
    ] {
        let line = list.lines().find(|l| l.ends_with(path)).unwrap_or_else(|| panic!("{path} missing:\n{list}"));
        assert!(line.contains("root/root"), "{line}");
    }
    assert!(list.lines().any(|l| l.ends_with("./usr/bin/yuqing") && l.starts_with("-rwxr-xr-x")), "{list}");

    // Maintainer scripts: valid shell; the upgrade backs up before it migrates; the config is a
    // conffile only for /etc/default (the operator's yuqing.toml is written once by postinst).
    let control = tmp.path().join("control");
    sh(Command::new("dpkg-deb").arg("--control").arg(&deb).arg(&control));
    for script in ["postinst", "prerm", "postrm"] {
        sh(Command::new("sh").arg("-n").arg(control.join(script)));
    }
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    assert!(postinst.contains("migrate --backup-to"), "{postinst}");
    assert!(postinst.contains("init --system"), "{postinst}");
    assert!(postinst.contains("systemd-sysusers yuqing.conf"), "{postinst}");
    assert_eq!(std::fs::read_to_string(control.join("conffiles")).unwrap().trim(), "/etc/default/yuqing");

    // The packaged binary runs and writes the commented system configuration, which loads.
    let tree = tmp.path().join("tree");
    sh(Command::new("dpkg-deb").arg("--extract").arg(&deb).arg(&tree));
    let packaged = tree.join("usr/bin/yuqing");
    assert!(sh(Command::new(&packaged).arg("--version")).contains(version));
    let conf = tmp.path().join("etc/yuqing/yuqing.toml");
    sh(Command::new(&packaged).args(["init", "--system"]).arg(&conf));
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.starts_with("# yuqing 系统服务配置") && text.contains("[[rules]]"), "{text}");
    let doctor = Command::new(&packaged)
        .args(["--json", "--config"])
        .arg(&conf)
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .arg("doctor")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&doctor.stdout).unwrap_or_else(|_| panic!("{}", stdout(&doctor)));
    let config_check = v["checks"].as_array().unwrap().iter().find(|c| c["area"] == "配置").unwrap();
    assert_eq!(config_check["level"], "ok", "{v}");

    // The unit: the settings the operations guide promises, and systemd's own check.
    let unit = std::fs::read_to_string(tree.join("lib/systemd/system/yuqing.service")).unwrap();
    for want in [
        "User=yuqing",
        "StateDirectory=yuqing",
        "Environment=YUQING_CONFIG=/etc/yuqing/yuqing.toml",
        "Environment=YUQING_DATA_DIR=/var/lib/yuqing",
        "Restart=on-failure",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ReadWritePaths=/var/lib/yuqing",
        "StandardError=journal",
        "ExecStart=/usr/bin/yuqing serve",
    ] {
        assert!(unit.lines().any(|l| l.starts_with(want)), "{want} missing:\n{unit}");
    }
    if has("systemd-analyze") {
        // Verified against the extracted binary (the unit names /usr/bin/yuqing, not installed here).
        let dir = tmp.path().join("unit");
        std::fs::create_dir_all(&dir).unwrap();
        let local = dir.join("yuqing.service");
        std::fs::write(&local, unit.replace("/usr/bin/yuqing", &packaged.to_string_lossy())).unwrap();
        let out = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&local).output().unwrap();
        let said = format!("{}{}", stdout(&out), stderr(&out));
        let problems: Vec<&str> = said
            .lines()
            .filter(|l| l.contains("yuqing.service"))
            .filter(|l| !l.contains("Failed to resolve user") && !l.contains("Failed to resolve group"))
            .collect();
        assert!(problems.is_empty(), "systemd-analyze verify:\n{said}");
        // The hardening, as systemd scores it (0 best, 10 worst; "OK" is below 2.0 … 4.0 "MEDIUM").
        let out = Command::new("systemd-analyze").args(["security", "--offline=yes"]).arg(&local).output().unwrap();
        let said = stdout(&out);
        let exposure: f64 = said
            .lines()
            .find_map(|l| l.split("Overall exposure level for yuqing.service:").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no exposure level:\n{said}\n{}", stderr(&out)));
        assert!(exposure <= 2.5, "exposure {exposure}:\n{said}");
    } else {
        eprintln!("systemd-analyze not installed: the unit's own check skipped (contents checked above)");
    }
}
