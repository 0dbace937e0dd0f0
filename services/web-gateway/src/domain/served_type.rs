//! How a stored file is served back: with which `Content-Type`, and by whom. A file's name
//! and type come from its sender, so neither may make a browser run what it holds.

/// What a download answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Served {
    /// A redirect to the object store's presigned URL, whose response carries this
    /// `Content-Type` (overridden, whatever the object was stored with) as an attachment.
    Presigned { content_type: &'static str },
    /// The gateway streams the bytes itself as `application/octet-stream`, an attachment,
    /// with `X-Content-Type-Options: nosniff` and a sandboxing CSP: the object store cannot
    /// send `nosniff`, and these are the files a browser would otherwise run (HTML, SVG,
    /// XML, scripts) — by their stored type or by their name.
    Gateway,
}

/// The type every download falls back to: a browser saves it and never renders it.
pub const OPAQUE: &str = "application/octet-stream";

/// Types a browser shows without running anything: served as themselves. Anything not
/// listed (and not active) is served as [`OPAQUE`].
const PASSIVE: [&str; 27] = [
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/heic",
    "image/tiff",
    "image/bmp",
    "audio/mpeg",
    "audio/ogg",
    "audio/mp4",
    "audio/wav",
    "video/mp4",
    "video/webm",
    "video/quicktime",
    "application/zip",
    "application/gzip",
    "application/x-7z-compressed",
    "application/vnd.rar",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "text/plain",
    "text/csv",
];

/// Name endings a browser or the desktop would run or render as a page.
const ACTIVE_EXTENSIONS: [&str; 20] = [
    "html", "htm", "xhtml", "shtml", "mht", "mhtml", "svg", "svgz", "xml", "xsl", "xslt", "js",
    "mjs", "hta", "htc", "swf", "jnlp", "vbs", "wsf", "url",
];

/// How to serve a file stored with `stored_type` (what the storage worker sniffed, or
/// nothing) under the name `name`.
pub fn served(stored_type: Option<&str>, name: &str) -> Served {
    let essence = stored_type
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if is_active_type(&essence) || has_active_extension(name) {
        return Served::Gateway;
    }
    let content_type = PASSIVE
        .iter()
        .find(|passive| **passive == essence)
        .copied()
        .unwrap_or(OPAQUE);
    Served::Presigned { content_type }
}

fn is_active_type(essence: &str) -> bool {
    [
        "html",
        "svg",
        "xml",
        "script",
        "javascript",
        "x-sh",
        "xsl",
        "shockwave",
    ]
    .iter()
    .any(|word| essence.contains(word))
        || (essence.starts_with("text/") && !PASSIVE.contains(&essence))
}

fn has_active_extension(name: &str) -> bool {
    let name = bureau_kit::text::visible(name).to_ascii_lowercase();
    let name = name.trim_end_matches(['.', ' ']);
    name.rsplit_once('.')
        .is_some_and(|(_, extension)| ACTIVE_EXTENSIONS.contains(&extension))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passive_types_are_served_as_themselves_by_the_object_store() {
        assert_eq!(
            served(Some("application/pdf"), "scan.pdf"),
            Served::Presigned {
                content_type: "application/pdf"
            }
        );
        assert_eq!(
            served(Some("IMAGE/PNG; q=1"), "photo.png"),
            Served::Presigned {
                content_type: "image/png"
            }
        );
    }

    #[test]
    fn unknown_types_are_opaque() {
        for stored in [
            None,
            Some(""),
            Some("application/x-whatever"),
            Some("a/b\r\nX: y"),
        ] {
            assert_eq!(
                served(stored, "data.bin"),
                Served::Presigned {
                    content_type: OPAQUE
                }
            );
        }
    }

    #[test]
    fn pages_images_that_run_and_scripts_go_through_the_gateway() {
        for stored in [
            "text/html",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/xml",
            "application/javascript",
            "text/javascript",
            "application/x-sh",
            "text/markdown",
        ] {
            assert_eq!(served(Some(stored), "x.pdf"), Served::Gateway, "{stored}");
        }
    }

    #[test]
    fn a_name_that_runs_goes_through_the_gateway_whatever_the_type() {
        for name in [
            "x.html",
            "X.HTM",
            "a.svg",
            "x\u{202E}ftp.hta",
            "page.html.",
            "s.js",
        ] {
            assert_eq!(
                served(Some("application/pdf"), name),
                Served::Gateway,
                "{name}"
            );
        }
    }
}
