//! PDF through LibreOffice: the DOCX is converted by `soffice --headless --convert-to pdf` in a
//! scratch directory. Without LibreOffice the caller gets a message saying what to install.

use std::path::PathBuf;
use std::process::Command;

use crate::{ReportError, Result};

/// The LibreOffice command on PATH (`soffice` or `libreoffice`), if any.
pub fn soffice() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["soffice", "libreoffice"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

pub const NOT_INSTALLED: &str =
    "未安装 LibreOffice（找不到 soffice 或 libreoffice 命令），无法生成 PDF；请安装 LibreOffice（例如 apt install libreoffice-writer）后重试，或改用 --format docx 导出 Word 文件";

/// For each face a report names, the free faces that stand in for it, best first: 小标宋 and 宋体
/// a serif of weight, 仿宋 a light Ming, 黑体 a sans, 楷体 a Kai — so headings and body differ.
pub const REPLACEMENTS: &[(&[&str], &[&str])] = &[
    (
        &["方正小标宋简体", "方正小标宋_GBK", "小标宋"],
        &["Noto Serif CJK SC", "Source Han Serif SC", "AR PL UMing CN", "WenQuanYi Zen Hei"],
    ),
    (
        &["仿宋_GB2312", "仿宋", "FangSong", "STFangsong"],
        &["AR PL UMing CN", "Noto Serif CJK SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei"],
    ),
    (
        &["黑体", "SimHei", "STHeiti"],
        &["Noto Sans CJK SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Source Han Sans SC"],
    ),
    (&["楷体_GB2312", "楷体", "KaiTi", "STKaiti"], &["AR PL UKai CN", "AR PL KaitiM GB", "Noto Serif CJK SC"]),
    (&["宋体", "SimSun"], &["Noto Serif CJK SC", "AR PL UMing CN", "WenQuanYi Zen Hei"]),
];

/// Font families fontconfig knows (empty when `fc-list` is missing).
fn installed_families() -> Vec<String> {
    let Ok(out) = Command::new("fc-list").args([":", "family"]).output() else { return Vec::new() };
    String::from_utf8_lossy(&out.stdout).lines().flat_map(|l| l.split(',')).map(|f| f.trim().to_string()).collect()
}

fn xml_attr(s: &str) -> String {
    crate::docx::xml_escape(s)
}

/// LibreOffice's font replacement table (Tools ▸ Options ▸ Fonts) as a user profile file: each
/// face of `REPLACEMENTS` that is not installed replaced by the first of its stand-ins that is.
/// (“Always”: LibreOffice applies a pair marked otherwise only on screen in a headless run.)
pub fn replacement_registry(installed: &[String]) -> String {
    let mut items = String::from(
        "<item oor:path=\"/org.openoffice.Office.Common/Font/Substitution\"><prop oor:name=\"Replacement\" oor:op=\"fuse\"><value>true</value></prop></item>",
    );
    let mut k = 0;
    for (faces, stand_ins) in REPLACEMENTS {
        let Some(sub) = stand_ins.iter().find(|s| installed.iter().any(|i| i == *s)) else { continue };
        // A face this machine has is used as it is.
        for face in faces.iter().filter(|f| !installed.iter().any(|i| i == *f)) {
            items.push_str(&format!(
                "<item oor:path=\"/org.openoffice.Office.Common/Font/Substitution/FontPairs\"><node oor:name=\"_{k}\" oor:op=\"replace\"><prop oor:name=\"Always\" oor:op=\"fuse\"><value>true</value></prop><prop oor:name=\"OnScreenOnly\" oor:op=\"fuse\"><value>false</value></prop><prop oor:name=\"ReplaceFont\" oor:op=\"fuse\"><value>{}</value></prop><prop oor:name=\"SubstituteFont\" oor:op=\"fuse\"><value>{}</value></prop></node></item>",
                xml_attr(face),
                xml_attr(sub)
            ));
            k += 1;
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><oor:items xmlns:oor=\"http://openoffice.org/2001/registry\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">{items}</oor:items>"
    )
}

/// Converts DOCX bytes to PDF bytes.
pub fn from_docx(docx: &[u8]) -> Result<Vec<u8>> {
    let Some(bin) = soffice() else { return Err(ReportError::PdfUnavailable(NOT_INSTALLED.into())) };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("yuqing-pdf-{}-{nanos}", std::process::id()));
    let io = |e: std::io::Error| ReportError::Write { what: "PDF", detail: e.to_string() };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let result = (|| {
        let input = dir.join("report.docx");
        std::fs::write(&input, docx).map_err(io)?;
        // A profile of its own, so a LibreOffice the user has open does not block the conversion;
        // it carries the font replacements that keep the roles apart on a machine without the
        // Windows faces.
        let user = dir.join("profile").join("user");
        std::fs::create_dir_all(&user).map_err(io)?;
        std::fs::write(user.join("registrymodifications.xcu"), replacement_registry(&installed_families()))
            .map_err(io)?;
        let profile = format!("-env:UserInstallation=file://{}", dir.join("profile").display());
        let out = Command::new(&bin)
            .arg(profile)
            .args(["--headless", "--convert-to", "pdf", "--outdir"])
            .arg(&dir)
            .arg(&input)
            .output()
            .map_err(io)?;
        let pdf = dir.join("report.pdf");
        if !out.status.success() || !pdf.exists() {
            return Err(ReportError::Write {
                what: "PDF",
                detail: format!("LibreOffice 转换失败：{}", String::from_utf8_lossy(&out.stderr).trim()),
            });
        }
        std::fs::read(&pdf).map_err(io)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_missing_face_is_replaced_by_the_first_installed_stand_in_and_roles_stay_apart() {
        let installed: Vec<String> =
            ["WenQuanYi Zen Hei", "AR PL UMing CN", "AR PL UKai CN"].iter().map(|s| s.to_string()).collect();
        let x = replacement_registry(&installed);
        let pair = |face: &str| {
            let i = x.find(&format!("<value>{face}</value>")).unwrap_or_else(|| panic!("{face} in {x}"));
            let rest = &x[i..];
            let j = rest.find("SubstituteFont").unwrap();
            rest[j..].split("<value>").nth(1).unwrap().split('<').next().unwrap().to_string()
        };
        assert_eq!(pair("仿宋_GB2312"), "AR PL UMing CN");
        assert_eq!(pair("黑体"), "WenQuanYi Zen Hei");
        assert_eq!(pair("楷体_GB2312"), "AR PL UKai CN");
        assert_eq!(pair("方正小标宋简体"), "AR PL UMing CN", "Noto absent: the next stand-in");
        let with_fangsong: Vec<String> = installed.iter().cloned().chain(["仿宋_GB2312".to_string()]).collect();
        assert!(
            !replacement_registry(&with_fangsong).contains("<value>仿宋_GB2312</value>"),
            "an installed face stays"
        );
        assert!(replacement_registry(&[]).contains("Replacement"), "no pairs without fonts, still valid");
        assert!(!replacement_registry(&[]).contains("FontPairs"));
    }
}
