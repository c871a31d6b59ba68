//! Which top-level context variables a template reads, found by walking the parsed template
//! (not by scanning text), so `{{contact.name}}` gives `contact`, `{{#if vip}}` gives `vip`,
//! `{{#each items}}{{title}}{{/each}}` gives `items` only (inside the block, `title` belongs to
//! each item), and `{{../owner}}` or `{{@root.owner}}` inside a block gives `owner`.

use std::collections::BTreeSet;

use handlebars::template::{BlockParam, HelperTemplate, Parameter, Template, TemplateElement};
use handlebars::{Path, PathSeg};

/// Helpers whose block body runs in a new context (an item or a sub-object), so names inside it
/// are not top-level variables.
const CONTEXT_CHANGING: &[&str] = &["each", "with"];

/// The sorted, distinct top-level variables `template` references.
pub fn top_level_variables(template: &Template) -> Vec<String> {
    let mut found = BTreeSet::new();
    walk(template, 0, &mut found);
    found.into_iter().collect()
}

/// `depth` counts the context-changing blocks around the current element.
fn walk(template: &Template, depth: usize, found: &mut BTreeSet<String>) {
    for element in &template.elements {
        match element {
            TemplateElement::Expression(helper) | TemplateElement::HtmlExpression(helper) => {
                expression(helper, depth, found)
            }
            TemplateElement::HelperBlock(helper) => block(helper, depth, found),
            TemplateElement::DecoratorExpression(decorator)
            | TemplateElement::DecoratorBlock(decorator)
            | TemplateElement::PartialExpression(decorator)
            | TemplateElement::PartialBlock(decorator) => {
                for param in decorator.params.iter().chain(decorator.hash.values()) {
                    parameter(param, depth, found);
                }
                if let Some(inner) = &decorator.template {
                    walk(inner, depth, found);
                }
            }
            _ => {}
        }
    }
}

/// `{{name}}` is a variable; `{{helper a b=c}}` reads its parameters.
fn expression(helper: &HelperTemplate, depth: usize, found: &mut BTreeSet<String>) {
    if helper.params.is_empty() && helper.hash.is_empty() {
        parameter(&helper.name, depth, found);
    } else {
        arguments(helper, depth, found);
    }
}

fn block(helper: &HelperTemplate, depth: usize, found: &mut BTreeSet<String>) {
    let name = match &helper.name {
        Parameter::Name(name) => Some(name.as_str()),
        _ => None,
    };
    let changes_context = match name {
        Some(name) if helper.params.is_empty() => {
            // `{{#section}}...{{/section}}`: the block reads `section` and renders inside it.
            found.extend(top_level(&[PathSeg::Named(name.to_owned())], name, depth));
            true
        }
        Some(name) => CONTEXT_CHANGING.contains(&name) || block_params(helper),
        None => false,
    };
    arguments(helper, depth, found);
    if let Some(inner) = &helper.template {
        walk(inner, depth + usize::from(changes_context), found);
    }
    // `{{else}}` renders in the block's own context.
    if let Some(inverse) = &helper.inverse {
        walk(inverse, depth, found);
    }
}

fn block_params(helper: &HelperTemplate) -> bool {
    matches!(
        helper.block_param,
        Some(BlockParam::Single(_) | BlockParam::Pair(_))
    )
}

fn arguments(helper: &HelperTemplate, depth: usize, found: &mut BTreeSet<String>) {
    for param in helper.params.iter().chain(helper.hash.values()) {
        parameter(param, depth, found);
    }
}

fn parameter(param: &Parameter, depth: usize, found: &mut BTreeSet<String>) {
    match param {
        Parameter::Path(Path::Relative((segments, raw))) => {
            found.extend(top_level(segments, raw, depth));
        }
        Parameter::Subexpression(sub) => {
            if let TemplateElement::Expression(helper) = sub.as_element() {
                expression(helper, depth, found);
            }
        }
        // Literals, `@index`-style locals and helper names read nothing from the context.
        _ => {}
    }
}

/// The top-level name a path resolves to, if it resolves to the root context: `a.b` at depth 0,
/// `../a` at depth 1, `@root.a` anywhere. `this` alone names the whole context, not a variable.
fn top_level(segments: &[PathSeg], raw: &str, depth: usize) -> Option<String> {
    let rooted = raw.contains("@root");
    let ups = segments
        .iter()
        .filter(|s| matches!(s, PathSeg::Ruled(_)))
        .count();
    let at_root = rooted || ups >= depth;
    let first = segments.iter().find_map(|s| match s {
        PathSeg::Named(name) => Some(name.clone()),
        _ => None,
    })?;
    at_root.then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variables(source: &str) -> Vec<String> {
        top_level_variables(&Template::compile(source).expect("compiles"))
    }

    #[test]
    fn dotted_paths_give_their_first_segment() {
        assert_eq!(
            variables("Hi {{contact.name}}, {{contact.company.name}} and {{{sender}}}"),
            vec!["contact", "sender"]
        );
    }

    #[test]
    fn conditions_and_their_bodies_are_read() {
        assert_eq!(
            variables(
                "{{#if vip}}Dear {{name}}{{else}}Hi {{nick}}{{/if}}{{#unless x}}.{{/unless}}"
            ),
            vec!["name", "nick", "vip", "x"]
        );
    }

    #[test]
    fn each_reads_the_list_but_not_the_item_fields() {
        assert_eq!(
            variables(
                "{{#each items}}{{title}} {{@index}} {{this}} {{../owner}} {{@root.sig}}{{else}}{{empty}}{{/each}}"
            ),
            vec!["empty", "items", "owner", "sig"]
        );
        assert_eq!(
            variables("{{#each items as |item|}}{{item.name}}{{/each}}"),
            vec!["items"]
        );
    }

    #[test]
    fn helper_arguments_and_subexpressions_are_read() {
        assert_eq!(
            variables("{{#if (eq plan \"pro\")}}{{lookup prices tier}}{{/if}}"),
            vec!["plan", "prices", "tier"]
        );
    }

    #[test]
    fn plain_text_has_no_variables() {
        assert!(variables("Hello there").is_empty());
    }
}
