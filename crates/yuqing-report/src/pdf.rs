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
        // A profile of its own, so a LibreOffice the user has open does not block the conversion.
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
