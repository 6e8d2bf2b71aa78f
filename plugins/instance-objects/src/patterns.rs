//! Include/exclude name patterns, as dbatools' `-Include`/`-Exclude`: `*` and `?` wildcards,
//! compared case-insensitively because SQL Server's default collations compare names so.

use wildmatch::WildMatch;

pub struct Patterns {
    include: Vec<WildMatch>,
    exclude: Vec<WildMatch>,
}

fn compile(list: &[String]) -> Vec<WildMatch> {
    list.iter()
        .map(|p| WildMatch::new(&p.to_lowercase()))
        .collect()
}

impl Patterns {
    pub fn new(include: &[String], exclude: &[String]) -> Self {
        Patterns {
            include: compile(include),
            exclude: compile(exclude),
        }
    }

    /// Whether `name` is in: matched by `include` (or `include` is empty) and by no `exclude`.
    pub fn admits(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        (self.include.is_empty() || self.include.iter().any(|p| p.matches(&name)))
            && !self.exclude.iter().any(|p| p.matches(&name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_then_exclude_case_insensitively() {
        let p = Patterns::new(&["app_*".into(), "Reporting".into()], &["*_old".into()]);
        assert!(p.admits("APP_sales"));
        assert!(p.admits("reporting"));
        assert!(!p.admits("app_sales_old"));
        assert!(!p.admits("other"));
        let all = Patterns::new(&[], &["sa?".into()]);
        assert!(all.admits("anything"));
        assert!(!all.admits("SAM"));
    }
}
