//! `certificates` rows with their course title.

use lyceum_db::DbError;
use tokio_postgres::Row;

use super::Queries;
use super::page::fetch_page;
use crate::entity::certificate::Certificate;
use crate::entity::page::{Page, PageRequest};

const CERT_SELECT: &str = "SELECT ce.id, ce.serial_number, ce.user_id, ce.course_id, \
     c.title AS course_title,      ce.issued_at FROM certificates ce JOIN courses c ON c.id = ce.course_id";

fn certificate_from_row(r: &Row) -> Certificate {
    Certificate {
        id: r.get("id"),
        serial_number: r.get("serial_number"),
        user_id: r.get("user_id"),
        course_id: r.get("course_id"),
        course_title: r.get("course_title"),
        issued_at: r.get("issued_at"),
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct CertificateRepository;

impl CertificateRepository {
    /// Issues a certificate (random serial from the column default). Fails with
    /// `certificates_user_course_key` when one exists.
    pub async fn insert(
        &self,
        c: &impl Queries,
        user_id: i64,
        course_id: i64,
    ) -> Result<Certificate, DbError> {
        let row = c
            .query_one(
                &format!(
                    "WITH ins AS (INSERT INTO certificates (user_id, course_id) VALUES ($1, $2) \
                     RETURNING *) {} ",
                    CERT_SELECT.replace("FROM certificates ce", "FROM ins ce")
                ),
                &[&user_id, &course_id],
            )
            .await?;
        Ok(certificate_from_row(&row))
    }

    /// Issues the certificate a completed course earns, unless the user holds one for the
    /// course already (issued by staff, or by a concurrent completion that committed first);
    /// whether this call issued it.
    pub async fn insert_if_absent(
        &self,
        c: &impl Queries,
        user_id: i64,
        course_id: i64,
    ) -> Result<bool, DbError> {
        let issued = c
            .execute(
                "INSERT INTO certificates (user_id, course_id) VALUES ($1, $2) \
             ON CONFLICT (user_id, course_id) DO NOTHING",
                &[&user_id, &course_id],
            )
            .await?;
        Ok(issued == 1)
    }

    /// The serial number of the user's certificate for the course, if they hold one.
    pub async fn serial_of(
        &self,
        c: &impl Queries,
        user_id: i64,
        course_id: i64,
    ) -> Result<Option<String>, DbError> {
        let row = c
            .query_opt(
                "SELECT serial_number FROM certificates WHERE user_id = $1 AND course_id = $2",
                &[&user_id, &course_id],
            )
            .await?;
        Ok(row.map(|r| r.get("serial_number")))
    }

    /// A user's certificates, newest first.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id))]
    pub async fn list_for_user(
        &self,
        c: &impl Queries,
        user_id: i64,
        page: PageRequest,
    ) -> Result<Page<Certificate>, DbError> {
        let sql =
            format!("{CERT_SELECT} WHERE ce.user_id = $1 ORDER BY ce.issued_at DESC, ce.id DESC");
        fetch_page(c, &sql, &[&user_id], page, |r| Ok(certificate_from_row(r))).await
    }

    /// Verification by serial number (`certificates_serial_number_key`).
    pub async fn by_serial(
        &self,
        c: &impl Queries,
        serial: &str,
    ) -> Result<Option<Certificate>, DbError> {
        let row = c
            .query_opt(
                &format!("{CERT_SELECT} WHERE ce.serial_number = $1"),
                &[&serial],
            )
            .await?;
        Ok(row.as_ref().map(certificate_from_row))
    }
}
