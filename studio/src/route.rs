//! The studio's pages and their paths under `/studio/` (the gateway answers every path below it
//! with the app, which routes on `location.pathname`).

/// One page of the studio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// The org's workflows.
    Workflows,
    /// One workflow on the canvas.
    Workflow(String),
    Gallery,
    /// A creator's profile by handle.
    Creator(String),
}

impl Page {
    /// The page for a path; anything unknown is the workflow list.
    pub fn parse(path: &str) -> Page {
        let rest = path.strip_prefix("/studio").unwrap_or(path).trim_matches('/');
        let mut parts = rest.split('/').filter(|p| !p.is_empty());
        match (parts.next(), parts.next(), parts.next()) {
            (Some("w"), Some(id), None) if is_safe(id) => Page::Workflow(id.to_owned()),
            (Some("gallery"), None, None) => Page::Gallery,
            (Some("creators"), Some(handle), None) if is_safe(handle) => Page::Creator(handle.to_owned()),
            _ => Page::Workflows,
        }
    }

    /// The page's path.
    pub fn path(&self) -> String {
        match self {
            Page::Workflows => "/studio/".into(),
            Page::Workflow(id) => format!("/studio/w/{id}"),
            Page::Gallery => "/studio/gallery".into(),
            Page::Creator(handle) => format!("/studio/creators/{handle}"),
        }
    }
}

/// Ids and handles are letters, digits, `-` and `_`.
fn is_safe(segment: &str) -> bool {
    segment.len() <= 80 && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for page in [Page::Workflows, Page::Workflow("0192f-abc".into()), Page::Gallery, Page::Creator("ada_l".into())]
        {
            assert_eq!(Page::parse(&page.path()), page);
        }
        assert_eq!(Page::parse("/studio"), Page::Workflows);
        assert_eq!(Page::parse("/studio/w/../x"), Page::Workflows);
        assert_eq!(Page::parse("/studio/w/a/b"), Page::Workflows);
        assert_eq!(Page::parse("/studio/nope"), Page::Workflows);
    }
}
