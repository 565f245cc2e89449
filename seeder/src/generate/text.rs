//! Vocabulary for plausible English text: specializations, technologies, titles, phrases.
//! long: most of the file is the phrase banks themselves (data, one list per concept); the
//! code that combines them is short and reads best beside them.
//!
//! `fake` supplies names, companies, phones and buzzwords; course and review text is built
//! here from phrase banks so that it reads like a catalog and feeds full-text search real
//! words (Lorem ipsum would not).

use fake::{
    Fake,
    faker::company::en::{BsAdj, BsNoun, BsVerb, CatchPhrase},
    rand::RngExt,
};

use crate::rng::SeedRng;

/// One specialization: the lookup row plus the words its courses are made of.
#[derive(Debug)]
pub struct Specialization {
    pub slug: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// Relative number of courses in this area.
    pub weight: u32,
    pub roles: &'static [&'static str],
    pub technologies: &'static [&'static str],
    pub subjects: &'static [&'static str],
}

/// The fixed specializations; ids are positions + 1.
pub const SPECIALIZATIONS: &[Specialization] = &[
    Specialization {
        slug: "backend-development",
        name: "Backend Development",
        description: "Server-side software: APIs, databases, queues and the services behind every app.",
        weight: 18,
        roles: &[
            "Backend Developer",
            "Go Developer",
            "Java Developer",
            "Python Developer",
            "Rust Developer",
        ],
        technologies: &[
            "Rust",
            "Go",
            "Java",
            "Python",
            "PostgreSQL",
            "Redis",
            "Kafka",
            "Docker",
            "gRPC",
            "Spring Boot",
            "Django",
            "FastAPI",
        ],
        subjects: &[
            "REST API design",
            "database modelling",
            "transactions and isolation",
            "caching strategies",
            "message queues",
            "authentication",
            "testing services",
            "observability",
            "concurrency",
            "performance tuning",
        ],
    },
    Specialization {
        slug: "frontend-development",
        name: "Frontend Development",
        description: "Interfaces that run in the browser: layout, state, accessibility and performance.",
        weight: 14,
        roles: &["Frontend Developer", "React Developer", "Web Developer"],
        technologies: &[
            "JavaScript",
            "TypeScript",
            "React",
            "Vue",
            "CSS",
            "HTML",
            "Next.js",
            "Svelte",
            "Vite",
            "Redux",
        ],
        subjects: &[
            "responsive layout",
            "component design",
            "state management",
            "accessibility",
            "browser performance",
            "forms and validation",
            "routing",
            "testing components",
            "animations",
            "web security",
        ],
    },
    Specialization {
        slug: "mobile-development",
        name: "Mobile Development",
        description: "Native and cross-platform apps for iOS and Android.",
        weight: 8,
        roles: &["iOS Developer", "Android Developer", "Flutter Developer"],
        technologies: &[
            "Kotlin",
            "Swift",
            "Flutter",
            "Dart",
            "React Native",
            "Jetpack Compose",
            "SwiftUI",
            "Firebase",
        ],
        subjects: &[
            "app architecture",
            "offline storage",
            "push notifications",
            "UI toolkits",
            "publishing to the stores",
            "networking",
            "testing on devices",
            "animations",
        ],
    },
    Specialization {
        slug: "data-science",
        name: "Data Science",
        description: "Turning data into decisions: statistics, analysis and visualisation.",
        weight: 14,
        roles: &["Data Analyst", "Data Scientist", "BI Analyst"],
        technologies: &[
            "Python",
            "pandas",
            "NumPy",
            "SQL",
            "Jupyter",
            "scikit-learn",
            "Tableau",
            "Power BI",
            "R",
            "Matplotlib",
        ],
        subjects: &[
            "descriptive statistics",
            "hypothesis testing",
            "data cleaning",
            "visualisation",
            "A/B testing",
            "regression",
            "dashboards",
            "cohort analysis",
            "forecasting",
        ],
    },
    Specialization {
        slug: "machine-learning",
        name: "Machine Learning",
        description: "Models that learn from data, from classic algorithms to deep learning.",
        weight: 9,
        roles: &["ML Engineer", "Deep Learning Engineer", "NLP Engineer"],
        technologies: &[
            "PyTorch",
            "TensorFlow",
            "scikit-learn",
            "Transformers",
            "MLflow",
            "CUDA",
            "XGBoost",
            "ONNX",
        ],
        subjects: &[
            "gradient boosting",
            "neural networks",
            "computer vision",
            "natural language processing",
            "model evaluation",
            "feature engineering",
            "model serving",
            "recommender systems",
        ],
    },
    Specialization {
        slug: "data-engineering",
        name: "Data Engineering",
        description: "Pipelines and warehouses that move and shape data at scale.",
        weight: 7,
        roles: &["Data Engineer", "Analytics Engineer"],
        technologies: &[
            "Apache Spark",
            "Airflow",
            "Kafka",
            "dbt",
            "SQL",
            "ClickHouse",
            "Snowflake",
            "Parquet",
        ],
        subjects: &[
            "batch pipelines",
            "stream processing",
            "data modelling",
            "orchestration",
            "data quality",
            "warehouse design",
            "change data capture",
        ],
    },
    Specialization {
        slug: "devops",
        name: "DevOps and SRE",
        description: "Shipping and running software reliably: automation, infrastructure and on-call.",
        weight: 10,
        roles: &[
            "DevOps Engineer",
            "Site Reliability Engineer",
            "Platform Engineer",
        ],
        technologies: &[
            "Linux",
            "Docker",
            "Kubernetes",
            "Terraform",
            "Ansible",
            "Prometheus",
            "Grafana",
            "GitLab CI",
            "Helm",
            "AWS",
        ],
        subjects: &[
            "infrastructure as code",
            "continuous delivery",
            "container orchestration",
            "monitoring and alerting",
            "incident response",
            "capacity planning",
            "networking basics",
            "high availability",
        ],
    },
    Specialization {
        slug: "cybersecurity",
        name: "Cybersecurity",
        description: "Defending systems and finding their weaknesses before attackers do.",
        weight: 5,
        roles: &[
            "Security Analyst",
            "Penetration Tester",
            "Application Security Engineer",
        ],
        technologies: &[
            "Wireshark",
            "Burp Suite",
            "Metasploit",
            "Nmap",
            "OWASP ZAP",
            "Kali Linux",
            "SIEM",
        ],
        subjects: &[
            "network security",
            "web vulnerabilities",
            "cryptography",
            "threat modelling",
            "incident handling",
            "secure coding",
            "forensics",
        ],
    },
    Specialization {
        slug: "qa-engineering",
        name: "QA Engineering",
        description: "Testing software by hand and by code so releases stay boring.",
        weight: 5,
        roles: &["QA Engineer", "Test Automation Engineer"],
        technologies: &[
            "Selenium",
            "Playwright",
            "pytest",
            "JUnit",
            "Postman",
            "Cypress",
            "k6",
            "Allure",
        ],
        subjects: &[
            "test design",
            "API testing",
            "UI automation",
            "load testing",
            "bug reporting",
            "test strategy",
            "CI integration",
        ],
    },
    Specialization {
        slug: "ux-ui-design",
        name: "UX/UI Design",
        description: "Research, interaction and visual design of digital products.",
        weight: 4,
        roles: &["UX Designer", "UI Designer", "Product Designer"],
        technologies: &["Figma", "FigJam", "Miro", "Adobe XD", "Protopie", "Maze"],
        subjects: &[
            "user research",
            "information architecture",
            "wireframing",
            "prototyping",
            "design systems",
            "usability testing",
            "typography",
            "visual hierarchy",
        ],
    },
    Specialization {
        slug: "product-management",
        name: "Product Management",
        description: "Deciding what to build and why, and getting it shipped.",
        weight: 3,
        roles: &["Product Manager", "Product Owner", "Project Manager"],
        technologies: &[
            "Jira",
            "Amplitude",
            "Notion",
            "Mixpanel",
            "Confluence",
            "Excel",
        ],
        subjects: &[
            "product discovery",
            "roadmapping",
            "metrics",
            "customer interviews",
            "prioritisation",
            "unit economics",
            "stakeholder management",
        ],
    },
    Specialization {
        slug: "game-development",
        name: "Game Development",
        description: "Making games: engines, gameplay programming, art pipelines and publishing.",
        weight: 3,
        roles: &["Game Developer", "Unity Developer", "Gameplay Programmer"],
        technologies: &[
            "Unity",
            "Unreal Engine",
            "C#",
            "C++",
            "Godot",
            "Blender",
            "Blueprints",
        ],
        subjects: &[
            "game loops",
            "physics",
            "level design",
            "shaders",
            "multiplayer networking",
            "game AI",
            "monetisation",
        ],
    },
];

/// Blog tags; names are unique ignoring case.
pub const TAGS: &[&str] = &[
    "Career",
    "Rust",
    "Python",
    "JavaScript",
    "TypeScript",
    "Go",
    "Java",
    "Kotlin",
    "Swift",
    "SQL",
    "PostgreSQL",
    "Redis",
    "Kafka",
    "Docker",
    "Kubernetes",
    "Terraform",
    "Linux",
    "AWS",
    "React",
    "Vue",
    "CSS",
    "Figma",
    "Machine Learning",
    "Data Science",
    "Deep Learning",
    "Statistics",
    "Analytics",
    "DevOps",
    "SRE",
    "Security",
    "Testing",
    "Automation",
    "Mobile",
    "Android",
    "iOS",
    "Frontend",
    "Backend",
    "Architecture",
    "Databases",
    "Performance",
    "Open Source",
    "Interviews",
    "Resume",
    "Soft Skills",
    "Remote Work",
    "Productivity",
    "Students",
    "Graduates",
    "Mentoring",
    "Events",
    "Hackathon",
    "Game Development",
    "Unity",
    "Product",
    "Design",
    "UX",
    "Startups",
    "News",
    "Tutorial",
    "Case Study",
];

/// Blog post topics (free text in the schema, a closed list in practice).
pub const BLOG_TOPICS: &[&str] = &[
    "Career",
    "Engineering",
    "Data",
    "Design",
    "Product",
    "Student stories",
    "Platform news",
    "Tutorials",
    "Events",
];

pub const STAFF_WORKPLACE: &str = "Lyceum";

fn choose<'a>(rng: &mut SeedRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// Up to `n` distinct items in random order.
pub fn choose_distinct<'a>(rng: &mut SeedRng, items: &[&'a str], n: usize) -> Vec<&'a str> {
    let mut picked: Vec<&str> = Vec::with_capacity(n);
    while picked.len() < n.min(items.len()) {
        let item = choose(rng, items);
        if !picked.contains(&item) {
            picked.push(item);
        }
    }
    picked
}

/// A course title such as "Kubernetes in Production" or "Data Analyst from Scratch".
pub fn course_title(rng: &mut SeedRng, spec: &Specialization, level: usize) -> String {
    let tech = choose(rng, spec.technologies);
    let role = choose(rng, spec.roles);
    let subject = choose(rng, spec.subjects);
    let (a, b) = {
        let two = choose_distinct(rng, spec.technologies, 2);
        (two[0], *two.get(1).unwrap_or(&two[0]))
    };
    let options: [String; 5] = match level {
        0 => [
            format!("{role} from Scratch"),
            format!("{tech} for Beginners"),
            format!("Introduction to {tech}"),
            format!("{tech} Fundamentals"),
            format!("Your First Steps in {}", spec.name),
        ],
        1 => [
            role.to_string(),
            format!("{tech} in Practice"),
            format!("{a} and {b}: Hands-on"),
            format!("{tech}: {}", capitalize(subject)),
            format!("{role} Career Track"),
        ],
        _ => [
            format!("Advanced {tech}"),
            format!("{tech} in Production"),
            format!("Senior {role}"),
            format!("Mastering {}", capitalize(subject)),
            format!("{a} at Scale"),
        ],
    };
    let i = rng.random_range(0..options.len());
    options[i].clone()
}

/// "a" or "an" before a job title ("an iOS Developer", "an ML Engineer").
fn article(role: &str) -> &'static str {
    let vowel = role.starts_with(['A', 'E', 'I', 'O', 'U', 'i']);
    if vowel || role.starts_with("ML ") || role.starts_with("NLP ") {
        "an"
    } else {
        "a"
    }
}

pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Two or three sentences that name what the course teaches.
pub fn course_description(rng: &mut SeedRng, spec: &Specialization, weeks: i32) -> String {
    let techs = choose_distinct(rng, spec.technologies, 3);
    let subjects = choose_distinct(rng, spec.subjects, 2);
    let role = choose(rng, spec.roles);
    let opener = match rng.random_range(0..4) {
        0 => format!(
            "In {weeks} weeks you will go from the basics to confident work with {}.",
            techs[0]
        ),
        1 => format!(
            "A practical course for anyone who wants to work as {} {role}.",
            article(role)
        ),
        2 => format!("Learn {} the way teams use it in production.", techs[0]),
        _ => format!(
            "Everything {} {role} needs, taught by working engineers.",
            article(role)
        ),
    };
    let body = format!(
        "You will practise {} and {}, use {} and {}, and build projects for your portfolio.",
        subjects[0],
        subjects.get(1).unwrap_or(&subjects[0]),
        techs.get(1).unwrap_or(&techs[0]),
        techs.get(2).unwrap_or(&techs[0]),
    );
    if rng.random_bool(0.5) {
        let bs = format!(
            "Graduates {} {} {}.",
            BsVerb().fake_with_rng::<String, _>(rng),
            BsAdj().fake_with_rng::<String, _>(rng),
            BsNoun().fake_with_rng::<String, _>(rng)
        );
        format!("{opener} {body} {bs}")
    } else {
        format!("{opener} {body}")
    }
}

pub fn topic_name(rng: &mut SeedRng, spec: &Specialization, position: i32) -> String {
    let subject = capitalize(choose(rng, spec.subjects));
    let tech = choose(rng, spec.technologies);
    match (position, rng.random_range(0..4)) {
        (1, _) => format!("Getting started with {tech}"),
        (_, 0) => format!("{subject} with {tech}"),
        (_, 1) => subject,
        (_, 2) => format!("{tech}: {}", subject.to_lowercase()),
        _ => format!("{subject} in practice"),
    }
}

pub fn topic_description(rng: &mut SeedRng, spec: &Specialization) -> String {
    let subject = choose(rng, spec.subjects);
    let tech = choose(rng, spec.technologies);
    match rng.random_range(0..3) {
        0 => format!("How {subject} works and how to apply it with {tech}."),
        1 => format!("Lectures, a live coding session and a graded exercise on {subject}."),
        _ => format!("We cover {subject} step by step and finish with a small {tech} project."),
    }
}

pub fn project_title(rng: &mut SeedRng, spec: &Specialization) -> String {
    let tech = choose(rng, spec.technologies);
    let thing = choose(
        rng,
        &[
            "a URL shortener",
            "a to-do service",
            "a chat",
            "a blog engine",
            "a dashboard",
            "an online shop",
            "a weather app",
            "a recommendation engine",
            "a booking system",
            "a habit tracker",
            "a price monitor",
            "a quiz game",
            "a file uploader",
            "a news feed",
        ],
    );
    format!("Build {thing} with {tech}")
}

pub fn project_description(rng: &mut SeedRng) -> String {
    let phrase: String = CatchPhrase().fake_with_rng(rng);
    match rng.random_range(0..3) {
        0 => format!(
            "A graded project reviewed by a mentor. Theme: {}.",
            phrase.to_lowercase()
        ),
        1 => "Work in a small team, present a demo and get a code review.".to_string(),
        _ => format!(
            "Solo project with automated tests; stretch goal: {}.",
            phrase.to_lowercase()
        ),
    }
}

const REVIEW_GOOD: &[&str] = &[
    "Great course, I learned a lot.",
    "The mentors answered every question within a day.",
    "Clear explanations and practical projects.",
    "Worth every penny.",
    "The projects were close to real work.",
    "I got my first job offer two months after finishing.",
    "Well structured and paced just right.",
    "The code reviews were the best part.",
    "Challenging but very rewarding.",
];
const REVIEW_MIXED: &[&str] = &[
    "Good material, but some topics felt rushed.",
    "The first half was great, the second half less so.",
    "Decent course; I wish there were more exercises.",
    "Some videos are outdated, the projects are fine.",
];
const REVIEW_BAD: &[&str] = &[
    "Too much theory and not enough practice.",
    "Mentors were slow to respond.",
    "The pace was too fast for beginners.",
    "I expected more depth for this price.",
    "Several assignments had unclear requirements.",
];

/// A review body matching its rating; empty in one case out of five.
pub fn review_body(rng: &mut SeedRng, rating: i16) -> String {
    if rng.random_bool(0.2) {
        return String::new();
    }
    let bank = match rating {
        5 | 4 => REVIEW_GOOD,
        3 => REVIEW_MIXED,
        _ => REVIEW_BAD,
    };
    let n = rng.random_range(1..=3);
    choose_distinct(rng, bank, n).join(" ")
}

const POST_TITLES: &[&str] = &[
    "How to land your first job as a {role}",
    "{tech} in 2026: what changed",
    "Ten {tech} tips we wish we had known earlier",
    "From teacher to {role}: a student story",
    "Why every {role} should learn {tech}",
    "What our graduates earn one year later",
    "A practical guide to {subject}",
    "Behind the scenes: how we review projects",
    "{subject}: common mistakes and how to avoid them",
];

pub fn post_title(rng: &mut SeedRng) -> String {
    let spec = &SPECIALIZATIONS[rng.random_range(0..SPECIALIZATIONS.len())];
    choose(rng, POST_TITLES)
        .replace("{role}", &choose(rng, spec.roles).to_lowercase())
        .replace("{tech}", choose(rng, spec.technologies))
        .replace("{subject}", &capitalize(choose(rng, spec.subjects)))
}

/// `paragraphs` paragraphs of blog prose; returns the text and its word count.
pub fn post_body(rng: &mut SeedRng, paragraphs: usize) -> (String, usize) {
    let mut body = String::new();
    let mut words = 0;
    for p in 0..paragraphs {
        if p > 0 {
            body.push_str("\n\n");
        }
        let sentences = rng.random_range(3..=6);
        for s in 0..sentences {
            if s > 0 {
                body.push(' ');
            }
            let spec = &SPECIALIZATIONS[rng.random_range(0..SPECIALIZATIONS.len())];
            let sentence = match rng.random_range(0..5) {
                0 => format!(
                    "Teams that {} {} usually start with {}.",
                    BsVerb().fake_with_rng::<String, _>(rng),
                    BsNoun().fake_with_rng::<String, _>(rng),
                    choose(rng, spec.subjects)
                ),
                1 => format!(
                    "Our students use {} to practise {} from the first week.",
                    choose(rng, spec.technologies),
                    choose(rng, spec.subjects)
                ),
                2 => format!(
                    "{} is not magic: it is a {} habit.",
                    capitalize(choose(rng, spec.subjects)),
                    BsAdj().fake_with_rng::<String, _>(rng)
                ),
                3 => format!(
                    "Ask any {} and they will tell you the same.",
                    choose(rng, spec.roles).to_lowercase()
                ),
                _ => format!(
                    "{}.",
                    capitalize(&CatchPhrase().fake_with_rng::<String, _>(rng).to_lowercase())
                ),
            };
            words += sentence.split_whitespace().count();
            body.push_str(&sentence);
        }
    }
    (body, words)
}

pub fn company_requirements(rng: &mut SeedRng) -> String {
    let spec = &SPECIALIZATIONS[rng.random_range(0..SPECIALIZATIONS.len())];
    let techs = choose_distinct(rng, spec.technologies, 2);
    format!(
        "Graduates of {} courses; {} and {} on the CV; English B2 or better.",
        spec.name,
        techs[0],
        techs.get(1).unwrap_or(&techs[0])
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn lookup_vocabulary_satisfies_the_schema() {
        let mut slugs = std::collections::HashSet::new();
        for s in SPECIALIZATIONS {
            assert!(slugs.insert(s.slug));
            assert!(s.slug.split('-').all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            }));
            assert!(s.technologies.len() >= 3 && s.subjects.len() >= 3 && !s.roles.is_empty());
        }
        let lower: std::collections::HashSet<String> =
            TAGS.iter().map(|t| t.to_lowercase()).collect();
        assert_eq!(lower.len(), TAGS.len(), "tags are unique ignoring case");
        assert!(TAGS.iter().all(|t| t.trim() == *t && t.len() <= 50));
    }

    #[test]
    fn titles_fit_the_column() {
        let mut rng = stream(1, "titles");
        for spec in SPECIALIZATIONS {
            for level in 0..3 {
                let t = course_title(&mut rng, spec, level);
                assert!(!t.trim().is_empty() && t.len() <= 200, "{t}");
            }
        }
        for _ in 0..100 {
            let t = post_title(&mut rng);
            assert!(t.len() <= 300 && !t.contains('{'), "{t}");
        }
    }
}
