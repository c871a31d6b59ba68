//! Handlebars prompts and message templates. Strict mode (a missing variable is an error, never
//! an empty string), no HTML escaping (prompts are not HTML), and no helpers that touch the
//! file system. `prompts/*.hbs` are registered once at start-up and validated by `check`.

pub mod context;
pub mod pitch;
pub mod turn;

use handlebars::{Handlebars, RenderErrorReason, TemplateError};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The shipped prompt templates, by name (file stem).
pub struct PromptRegistry {
    handlebars: Handlebars<'static>,
    /// Names that compiled; kept here because a failed registration can leave the engine's
    /// own table inconsistent.
    names: std::collections::BTreeSet<String>,
}

/// A template problem, located as precisely as Handlebars allows.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{location}: {message}")]
pub struct TemplateProblem {
    /// `file:line:column`, or `line L, column C` for inline templates.
    pub location: String,
    /// What is wrong.
    pub message: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
}

/// A fresh engine with our settings.
pub fn engine() -> Handlebars<'static> {
    let mut handlebars = Handlebars::new();
    handlebars.set_strict_mode(true);
    handlebars.register_escape_fn(handlebars::no_escape);
    handlebars
}

fn describe(error: &TemplateError, file: Option<&Path>) -> TemplateProblem {
    let (line, column) = error
        .pos()
        .map_or((None, None), |(l, c)| (Some(l), Some(c)));
    let place = match (line, column) {
        (Some(l), Some(c)) => format!("{l}:{c}"),
        (Some(l), None) => format!("{l}"),
        _ => String::new(),
    };
    let location = match file {
        Some(f) if place.is_empty() => f.display().to_string(),
        Some(f) => format!("{}:{place}", f.display()),
        None if place.is_empty() => "template".into(),
        None => format!("line {}", place.replace(':', ", column ")),
    };
    TemplateProblem {
        location,
        message: error.reason().to_string(),
        line,
        column,
    }
}

/// Compiles a template without rendering it (for `POST /templates/validate`).
pub fn validate_template(source: &str) -> Result<(), TemplateProblem> {
    engine()
        .register_template_string("template", source)
        .map_err(|e| describe(&e, None))
}

/// Renders an inline template with a context, strictly.
pub fn render_inline<T: Serialize>(source: &str, context: &T) -> Result<String, TemplateProblem> {
    CompiledInline::compile(source)?.render(context)
}

/// An inline template (an agent's prompt) compiled once and rendered as often as needed, with
/// the same strict settings as [`render_inline`]; compiling is most of a render's cost.
pub struct CompiledInline {
    handlebars: Handlebars<'static>,
}

impl CompiledInline {
    /// Compiles `source`, or says where it is broken.
    pub fn compile(source: &str) -> Result<Self, TemplateProblem> {
        let mut handlebars = engine();
        handlebars
            .register_template_string("template", source)
            .map_err(|e| describe(&e, None))?;
        Ok(Self { handlebars })
    }

    /// Renders with `context`; a missing variable is an error.
    pub fn render<T: Serialize>(&self, context: &T) -> Result<String, TemplateProblem> {
        self.handlebars.render("template", context).map_err(|e| {
            let message = match e.reason() {
                RenderErrorReason::MissingVariable(Some(path)) => {
                    format!("variable `{path}` is missing from the context")
                }
                other => other.to_string(),
            };
            TemplateProblem {
                location: match (e.line_no, e.column_no) {
                    (Some(l), Some(c)) => format!("line {l}, column {c}"),
                    _ => "template".into(),
                },
                message,
                line: e.line_no,
                column: e.column_no,
            }
        })
    }
}

impl PromptRegistry {
    /// Registers every `*.hbs` in `dir`; fails with every problem found, not just the first.
    pub fn load(dir: &Path) -> Result<Self, Vec<TemplateProblem>> {
        let (registry, problems) = Self::load_lenient(dir);
        if problems.is_empty() {
            Ok(registry)
        } else {
            Err(problems)
        }
    }

    /// Registers the templates that compile and returns the problems of the others, so `check`
    /// can go on validating what refers to the good ones.
    pub fn load_lenient(dir: &Path) -> (Self, Vec<TemplateProblem>) {
        let mut handlebars = engine();
        let mut names = std::collections::BTreeSet::new();
        let mut problems = Vec::new();
        let files = match hbs_files(dir) {
            Ok(files) => files,
            Err(problem) => {
                return (
                    Self {
                        handlebars,
                        names: Default::default(),
                    },
                    vec![problem],
                );
            }
        };
        for path in files {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            match std::fs::read_to_string(&path) {
                Ok(source) => match handlebars.register_template_string(&name, source) {
                    Ok(()) => {
                        names.insert(name);
                    }
                    Err(e) => problems.push(describe(&e, Some(&path))),
                },
                Err(e) => problems.push(TemplateProblem {
                    location: path.display().to_string(),
                    message: format!("cannot read: {e}"),
                    line: None,
                    column: None,
                }),
            }
        }
        (Self { handlebars, names }, problems)
    }

    /// Whether a template of this name is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Names of the registered templates.
    pub fn names(&self) -> Vec<String> {
        self.names.iter().cloned().collect()
    }

    /// Renders a registered template strictly.
    pub fn render<T: Serialize>(
        &self,
        name: &str,
        context: &T,
    ) -> Result<String, handlebars::RenderError> {
        self.handlebars.render(name, context)
    }
}

fn hbs_files(dir: &Path) -> Result<Vec<PathBuf>, TemplateProblem> {
    let entries = std::fs::read_dir(dir).map_err(|e| TemplateProblem {
        location: dir.display().to_string(),
        message: format!("cannot read the prompts folder: {e}"),
        line: None,
        column: None,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "hbs"))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_mode_refuses_missing_variables_and_does_not_escape() {
        let ok =
            render_inline("Hi {{name}} <b>", &serde_json::json!({"name": "A&B"})).expect("renders");
        assert_eq!(ok, "Hi A&B <b>");
        let missing =
            render_inline("Hi {{nmae}}", &serde_json::json!({"name": "A"})).expect_err("strict");
        assert!(missing.message.contains("nmae"), "{missing}");
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let problem =
            validate_template("line one\nHello {{#if x}} never closed").expect_err("invalid");
        assert!(problem.line.is_some(), "{problem:?}");
    }
}
