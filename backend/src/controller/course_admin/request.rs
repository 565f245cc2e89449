//! The bodies of the staff edits and their parsing into the entity types (every field checked,
//! every violation reported at once).

use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::entity::{
    ValidationErrors,
    catalog::{
        self, CourseForCreate, CourseForUpdate, ProjectForCreate, RunForCreate, RunForUpdate,
        TopicForCreate, TopicForUpdate,
    },
    validation::{long_text, text},
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseCreateRequest {
    /// 1 to 200 characters.
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Specialization slug.
    pub specialization: String,
    /// Difficulty code.
    pub difficulty: String,
    /// 1 to 520.
    pub duration_weeks: i32,
    /// Minor units, 0 to 1e9.
    pub price: i64,
    #[serde(default)]
    pub published: bool,
}

impl CourseCreateRequest {
    pub(super) fn parse(self) -> Result<CourseForCreate, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let title = e.take(catalog::course_title(&self.title));
        let description = e.take(catalog::course_description(&self.description));
        let specialization = e.take(catalog::lookup_code("specialization", &self.specialization));
        let difficulty = e.take(catalog::lookup_code("difficulty", &self.difficulty));
        let duration_weeks = e.take(catalog::duration_weeks(self.duration_weeks));
        let price = e.take(catalog::price(self.price));
        match (
            title,
            description,
            specialization,
            difficulty,
            duration_weeks,
            price,
        ) {
            (
                Some(title),
                Some(description),
                Some(specialization),
                Some(difficulty),
                Some(duration_weeks),
                Some(price),
            ) => Ok(CourseForCreate {
                title,
                description,
                specialization,
                difficulty,
                duration_weeks,
                price,
                published: self.published,
            }),
            _ => Err(e),
        }
    }
}

/// Course changes; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseUpdateRequest {
    pub title: Option<String>,
    pub description: Option<String>,
    pub specialization: Option<String>,
    pub difficulty: Option<String>,
    pub duration_weeks: Option<i32>,
    pub price: Option<i64>,
    pub published: Option<bool>,
}

impl CourseUpdateRequest {
    pub(super) fn parse(self) -> Result<CourseForUpdate, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let changes = CourseForUpdate {
            title: e.take_opt(self.title, |v| catalog::course_title(&v)),
            description: e.take_opt(self.description, |v| catalog::course_description(&v)),
            specialization: e.take_opt(self.specialization, |v| {
                catalog::lookup_code("specialization", &v)
            }),
            difficulty: e.take_opt(self.difficulty, |v| catalog::lookup_code("difficulty", &v)),
            duration_weeks: e.take_opt(self.duration_weeks, catalog::duration_weeks),
            price: e.take_opt(self.price, catalog::price),
            published: self.published,
        };
        e.finish(|| changes)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectInput {
    pub title: String,
    #[serde(default)]
    pub description: String,
}

fn projects(e: &mut ValidationErrors, input: Vec<ProjectInput>) -> Option<Vec<ProjectForCreate>> {
    if input.len() > catalog::PROJECTS_MAX {
        e.push(
            "projects",
            format!("at most {} projects", catalog::PROJECTS_MAX),
        );
        return None;
    }
    let mut out = Vec::with_capacity(input.len());
    for (i, p) in input.into_iter().enumerate() {
        let title = e.take(text(
            &format!("projects[{i}].title"),
            &p.title,
            catalog::TOPIC_NAME_MAX,
        ));
        let description = e.take(long_text(
            &format!("projects[{i}].description"),
            &p.description,
            catalog::PROJECT_DESCRIPTION_MAX,
        ));
        if let (Some(title), Some(description)) = (title, description) {
            out.push(ProjectForCreate { title, description });
        }
    }
    Some(out)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicCreateRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub technologies: Vec<String>,
    /// 1 to 10000.
    pub effort_hours: i32,
    /// 1-based; absent or past the end appends.
    pub position: Option<i32>,
    #[serde(default)]
    pub projects: Vec<ProjectInput>,
}

impl TopicCreateRequest {
    pub(super) fn parse(self) -> Result<TopicForCreate, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let name = e.take(catalog::topic_name(&self.name));
        let description = e.take(long_text(
            "description",
            &self.description,
            catalog::DESCRIPTION_MAX,
        ));
        let technologies = e.take(catalog::technologies(self.technologies));
        let effort_hours = e.take(catalog::effort_hours(self.effort_hours));
        let position = e.take_opt(self.position, catalog::position);
        let projects = projects(&mut e, self.projects);
        match (name, description, technologies, effort_hours, projects) {
            (
                Some(name),
                Some(description),
                Some(technologies),
                Some(effort_hours),
                Some(projects),
            ) if e.is_empty() => Ok(TopicForCreate {
                name,
                description,
                technologies,
                effort_hours,
                position,
                projects,
            }),
            _ => Err(e),
        }
    }
}

/// Topic changes; `position` moves the topic (others renumber), `projects` replaces them.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicUpdateRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub technologies: Option<Vec<String>>,
    pub effort_hours: Option<i32>,
    pub position: Option<i32>,
    pub projects: Option<Vec<ProjectInput>>,
}

impl TopicUpdateRequest {
    pub(super) fn parse(self) -> Result<TopicForUpdate, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let name = e.take_opt(self.name, |v| catalog::topic_name(&v));
        let description = e.take_opt(self.description, |v| {
            long_text("description", &v, catalog::DESCRIPTION_MAX)
        });
        let technologies = e.take_opt(self.technologies, catalog::technologies);
        let effort_hours = e.take_opt(self.effort_hours, catalog::effort_hours);
        let position = e.take_opt(self.position, catalog::position);
        let projects = self.projects.and_then(|p| projects(&mut e, p));
        e.finish(|| TopicForUpdate {
            name,
            description,
            technologies,
            effort_hours,
            position,
            projects,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunCreateRequest {
    pub start_date: NaiveDate,
    /// Last day of sales, not after `start_date`.
    pub sales_end_date: NaiveDate,
    /// 1 to 100000.
    pub seats_total: i32,
}

impl RunCreateRequest {
    pub(super) fn parse(self) -> Result<RunForCreate, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let seats_total = e.take(catalog::seats_total(self.seats_total));
        e.take(catalog::run_dates(self.start_date, self.sales_end_date));
        let (start_date, sales_end_date) = (self.start_date, self.sales_end_date);
        e.finish(|| RunForCreate {
            start_date,
            sales_end_date,
            seats_total: seats_total.unwrap_or(1),
        })
    }
}

/// Run changes. A new `seats_total` keeps sold seats sold (seats_left moves by the difference).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunUpdateRequest {
    pub start_date: Option<NaiveDate>,
    pub sales_end_date: Option<NaiveDate>,
    pub seats_total: Option<i32>,
}

impl RunUpdateRequest {
    pub(super) fn parse(self) -> Result<RunForUpdate, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let seats_total = e.take_opt(self.seats_total, catalog::seats_total);
        if let (Some(start), Some(end)) = (self.start_date, self.sales_end_date) {
            e.take(catalog::run_dates(start, end));
        }
        let (start_date, sales_end_date) = (self.start_date, self.sales_end_date);
        e.finish(|| RunForUpdate {
            start_date,
            sales_end_date,
            seats_total,
        })
    }
}
