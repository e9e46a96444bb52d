//! Message texts. Short and plain for SMS; text and HTML for email.

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Email subject (unused for SMS).
    pub subject: String,
    /// Plain text (the whole SMS).
    pub text: String,
    /// HTML body (email only).
    pub html: String,
}

/// Renders `template` for a channel. Only `otp_code` exists: the one-time code, who it is
/// from and how long it lasts.
pub fn render(
    template: &str,
    channel: &str,
    tenant: &str,
    code: &str,
    minutes: i64,
) -> Option<Rendered> {
    if template != "otp_code" {
        return None;
    }
    let minutes = minutes.max(1);
    let unit = if minutes == 1 { "minute" } else { "minutes" };
    let rendered = if channel == "sms" {
        Rendered {
            subject: String::new(),
            text: format!(
                "{code} is your {tenant} verification code. It expires in {minutes} {unit}."
            ),
            html: String::new(),
        }
    } else {
        let tenant_html = escape(tenant);
        Rendered {
            subject: format!("Your {tenant} verification code"),
            text: format!(
                "Your {tenant} verification code is {code}.\n\nIt expires in {minutes} {unit}. \
                 If you did not try to sign in, you can ignore this message."
            ),
            html: format!(
                "<p>Your {tenant_html} verification code is <strong>{code}</strong>.</p>\
                 <p>It expires in {minutes} {unit}. If you did not try to sign in, you can \
                 ignore this message.</p>"
            ),
        }
    };
    Some(rendered)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_is_short_and_email_carries_both_bodies() {
        let sms = render("otp_code", "sms", "Acme", "493021", 10).unwrap();
        assert!(
            sms.text.starts_with("493021")
                && sms.text.contains("Acme")
                && sms.text.contains("10 minutes")
        );
        assert!(sms.text.len() <= 160);
        let email = render("otp_code", "email", "A<b>", "493021", 1).unwrap();
        assert_eq!(email.subject, "Your A<b> verification code");
        assert!(email.text.contains("493021") && email.text.contains("1 minute."));
        assert!(
            email.html.contains("A&lt;b&gt;") && email.html.contains("<strong>493021</strong>")
        );
        assert!(render("welcome", "email", "Acme", "1", 1).is_none());
    }
}
