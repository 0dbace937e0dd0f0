//! The API's error sentences in Ukrainian, for customers who read Ukrainian: the `message`
//! of `{"error": {"code", "message"}}` changes language, the `code` never does.
//!
//! Which language an answer gets (`answer_language`): the language the browser session
//! chose (the `bureau_lang` cookie the portal's switch sets), then the languages
//! `Accept-Language` names (by preference), else English — an API client that asks for
//! nothing keeps the English it always had. (The profile's `customers.language` is not
//! used: it defaults to Ukrainian for every account, so it would silently switch API
//! clients that never asked; the portal's pages answer in the page's language.)
//!
//! The sentences come from many places (the accounts crate's rules, quotas, the order
//! form, quotes); rather than thread a language through every one of them, each error
//! keeps its English sentence and this module turns it into Ukrainian: structured errors
//! (quotas, password rules) from their data, the rest by their English sentence, exact or
//! by a pattern with `{}` holes. A sentence not listed stays English (the code still says
//! what happened); `every_customer_sentence_has_a_ukrainian_one` keeps the list whole for
//! the sentences customers meet.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use bureau_accounts::PasswordProblem;

use super::Error;
use crate::office::i18n::{LANGUAGE_COOKIE, Lang};
use crate::quotas::QuotaExceeded;

/// An error answer's body in Ukrainian, beside the English one it was sent with.
#[derive(Debug, Clone)]
pub(crate) struct UkrainianBody(pub serde_json::Value);

/// Around every route: an error answer that has a Ukrainian body gets it when the request
/// reads Ukrainian (`answer_language`). Other answers pass untouched.
pub(crate) async fn localize(request: Request, next: Next) -> Response {
    let lang = answer_language(request.headers());
    let mut response = next.run(request).await;
    let Some(UkrainianBody(body)) = response.extensions_mut().remove::<UkrainianBody>() else {
        return response;
    };
    if lang == Lang::Uk
        && let Ok(bytes) = serde_json::to_vec(&body)
    {
        response.headers_mut().remove(header::CONTENT_LENGTH);
        *response.body_mut() = Body::from(bytes);
    }
    response
}

/// The language of an error answer to this request (see the module's text).
pub(crate) fn answer_language(headers: &HeaderMap) -> Lang {
    asked(headers).unwrap_or(Lang::En)
}

/// The cookie's choice, else the first of our languages `Accept-Language` prefers; `None`
/// when the request names neither.
pub(crate) fn asked(headers: &HeaderMap) -> Option<Lang> {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|cookie| cookie.trim().split_once('='))
        .find(|(name, _)| *name == LANGUAGE_COOKIE)
        .and_then(|(_, value)| Lang::parse(value));
    if cookie.is_some() {
        return cookie;
    }
    let accepted = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())?;
    let mut offers: Vec<(f32, Lang)> = accepted
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let primary = parts.next()?.trim().split(['-', '_']).next()?;
            let lang = Lang::parse(primary)?;
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            (q > 0.0).then_some((q, lang))
        })
        .collect();
    offers.sort_by(|a, b| b.0.total_cmp(&a.0));
    offers.first().map(|(_, lang)| *lang)
}

/// The error's sentence in `lang`.
pub(crate) fn message_in(error: &Error, english: &str, lang: Lang) -> String {
    match lang {
        Lang::En => english.to_owned(),
        Lang::Uk => ukrainian(error, english).unwrap_or_else(|| english.to_owned()),
    }
}

/// The Ukrainian sentence of an error whose English sentence is `english`.
fn ukrainian(error: &Error, english: &str) -> Option<String> {
    Some(match error {
        Error::Unauthorized => "Увійдіть, щоб продовжити.".to_owned(),
        Error::InvalidCredentials => "Неправильна адреса пошти або пароль.".to_owned(),
        Error::Busy => "Зараз у нас дуже багато роботи. Спробуйте ще раз за мить.".to_owned(),
        Error::Database(_) | Error::Internal(_) => {
            "Щось пішло не так з нашого боку. Спробуйте ще раз; якщо повториться, напишіть нам."
                .to_owned()
        }
        Error::Quota(exceeded) => quota(exceeded),
        _ => return sentence(english),
    })
}

fn quota(exceeded: &QuotaExceeded) -> String {
    match exceeded {
        QuotaExceeded::FilesPerDay { limit, .. } => format!(
            "За день можна надіслати щонайбільше {limit} файлів; спробуйте завтра або напишіть нам."
        ),
        QuotaExceeded::BytesPerDay { limit, .. } => format!(
            "За день можна надіслати щонайбільше {} файлів; спробуйте завтра або напишіть нам.",
            size(*limit)
        ),
        QuotaExceeded::OpenOrders { limit } => format!(
            "У вас {limit} відкритих замовлень — це найбільше, що ми приймаємо водночас; нове можна буде створити, коли одне з них завершиться."
        ),
    }
}

/// "2 ГіБ", "20 МіБ", "1500 байтів".
pub(crate) fn size(bytes: u64) -> String {
    super::human_size(bytes)
        .replace("GiB", "ГіБ")
        .replace("MiB", "МіБ")
        .replace("KiB", "КіБ")
        .replace("bytes", "байтів")
}

/// Sentences said the same every time.
const EXACT: &[(&str, &str)] = &[
    ("No such order.", "Такого замовлення немає."),
    (
        "No profile for this account.",
        "Для цього облікового запису немає профілю.",
    ),
    (
        "Answer a quote with accept or decline.",
        "На ціну відповідають accept або decline.",
    ),
    (
        "Orders are placed from customer accounts; staff work them in the back office.",
        "Замовлення створюють з облікових записів клієнтів; працівники працюють із ними в бек-офісі.",
    ),
    (
        "This needs a staff account.",
        "Для цього потрібен обліковий запис працівника.",
    ),
    (
        "This needs an admin account.",
        "Для цього потрібен обліковий запис адміністратора.",
    ),
    ("Attach at least one file.", "Додайте хоча б один файл."),
    (
        "Describe the order or attach at least one file.",
        "Опишіть замовлення або додайте хоча б один файл.",
    ),
    (
        "This service is no longer offered. Choose another, or leave the service blank and describe what you need.",
        "Цієї послуги більше немає. Виберіть іншу або залиште послугу порожньою й опишіть, що вам потрібно.",
    ),
    (
        "The order description can be at most 10,000 characters long.",
        "Опис замовлення може мати щонайбільше 10 000 символів.",
    ),
    (
        "This link has expired or was already used. Ask for a new one.",
        "Це посилання застаріло або вже використане. Попросіть нове.",
    ),
    (
        "An account with this email address already exists.",
        "Обліковий запис із цією адресою вже існує.",
    ),
    (
        "Enter an email address.",
        "Введіть адресу електронної пошти.",
    ),
    (
        "Enter a valid email address, like name@example.com.",
        "Введіть правильну адресу електронної пошти, наприклад name@example.com.",
    ),
    ("Enter your name.", "Введіть ваше ім'я."),
    (
        "A name cannot contain control characters such as line breaks.",
        "Ім'я не може містити керівних символів, як-от розриви рядків.",
    ),
    (
        "A phone number has 7 to 15 digits; spaces, dashes, brackets and a leading + are fine.",
        "Номер телефону має 7–15 цифр; пробіли, дефіси, дужки й + на початку можна.",
    ),
    ("The language is uk or en.", "Мова — uk або en."),
    (
        "notify_by is one of auto, telegram or email.",
        "notify_by — одне з: auto, telegram або email.",
    ),
    (
        "Idempotency-Key must be 1 to 255 visible ASCII characters, such as a UUID.",
        "Idempotency-Key має містити від 1 до 255 видимих символів ASCII, наприклад UUID.",
    ),
    (
        "A request with this Idempotency-Key is still being handled. Try again in a moment.",
        "Запит із цим Idempotency-Key ще обробляється. Спробуйте за мить.",
    ),
    (
        "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
        "Цей Idempotency-Key уже використано для іншого запиту. Для нового запиту потрібен новий ключ.",
    ),
    (
        "`after` must be the `next` given with a page of this list.",
        "`after` має бути значенням `next` з попередньої сторінки цього списку.",
    ),
    (
        "`page` can only be 1: later pages are reached with `after`, the `next` of the page before.",
        "`page` може бути лише 1: наступні сторінки відкривають через `after`, значення `next` попередньої.",
    ),
    (
        "The upload is larger than we accept.",
        "Завантаження більше, ніж ми приймаємо.",
    ),
    (
        "Send the order as multipart/form-data.",
        "Надсилайте замовлення як multipart/form-data.",
    ),
    (
        "We cannot accept this right now because our message service is down. Nothing was saved; please try again in a few seconds.",
        "Зараз ми не можемо цього прийняти: не працює наша служба повідомлень. Нічого не збережено; спробуйте за кілька секунд.",
    ),
    (
        "We cannot accept files right now because our file storage is down. Nothing was saved; please try again in a few seconds.",
        "Зараз ми не можемо прийняти файли: не працює наше сховище файлів. Нічого не збережено; спробуйте за кілька секунд.",
    ),
    (
        "Our database is not answering right now. Please try again in a few seconds.",
        "Наша база даних зараз не відповідає. Спробуйте за кілька секунд.",
    ), // Staff (the back office's forms and the staff API its board calls).
    (
        "Not yours to do: the order is assigned to someone else, or your role does not do this.",
        "Це не для вас: замовлення доручене іншому працівникові, або ваша роль такого не робить.",
    ),
    (
        "Executors can only start work on accepted orders and mark work in progress as ready.",
        "Виконавець може лише взяти в роботу прийняте замовлення й позначити роботу готовою.",
    ),
    (
        "No such status change request.",
        "Такого запиту на зміну статусу немає.",
    ),
    ("No such file.", "Такого файлу немає."),
    ("Write something first.", "Спершу напишіть текст."),
    (
        "The amount is a number with at most two decimals, like 1250 or 1250.50.",
        "Сума — число щонайбільше з двома знаками після коми, як-от 1250 або 1250,50.",
    ),
    (
        "The currency is a three-letter code, like UAH.",
        "Валюта — код із трьох латинських літер, як-от UAH.",
    ),
    (
        "The validity date is a day like 2026-12-31.",
        "Термін дії — день у вигляді 2026-12-31.",
    ),
    (
        "The validity date is today or later.",
        "Термін дії — сьогодні або пізніше.",
    ),
    (
        "A price is quoted before the order is accepted.",
        "Ціну пропонують, доки замовлення ще не прийняте.",
    ),
    ("No such staff member.", "Такого працівника немає."),
    ("Unknown role.", "Невідома роль."),
    (
        "Staff accounts are admins, managers or executors.",
        "Працівник — адміністратор, менеджер або виконавець.",
    ),
    (
        "There is no such staff account.",
        "Такого облікового запису працівника немає.",
    ),
    (
        "This is the last active admin: make someone else an admin first.",
        "Це останній активний адміністратор: спершу зробіть адміністратором когось іншого.",
    ),
    (
        "This link has expired or was already used. Ask an admin for a new one.",
        "Це посилання застаріло або вже використане. Попросіть нове в адміністратора.",
    ), // Staff recording money (the JSON API and the order page's forms).
    (
        "Only admins and managers record payments and refunds.",
        "Оплати й повернення записують лише адміністратори й менеджери.",
    ),
    (
        "The amount is a whole number of kopiykas (cents) above 0.",
        "Сума — ціле число копійок (центів), більше за 0.",
    ),
    (
        "The method is bank_transfer, cash or other (Telegram payments record themselves).",
        "Спосіб — bank_transfer, cash або other (оплати в Telegram записуються самі).",
    ),
    (
        "The order is cancelled or rejected: record a refund, not a payment.",
        "Замовлення скасоване або відхилене: запишіть повернення, а не оплату.",
    ),
    (
        "The customer has not answered the price quote yet.",
        "Клієнт ще не відповів на запропоновану ціну.",
    ),
    (
        "The order has no price yet: quote one first.",
        "У замовлення ще немає ціни: спершу запропонуйте її.",
    ),
    (
        "The order is paid in full already.",
        "Замовлення вже сплачене повністю.",
    ),
    (
        "A refund needs a reason of at most 1000 characters.",
        "Для повернення потрібна причина, щонайбільше 1000 символів.",
    ),
    (
        "The payment could not be passed on just now; nothing was recorded. Please try again.",
        "Оплату зараз не вдалося передати; нічого не записано. Спробуйте ще раз.",
    ),
    (
        "No such payment or refund.",
        "Такої оплати чи повернення немає.",
    ),
    (
        "Enter an amount, like 450 or 450.50.",
        "Введіть суму, наприклад 450 або 450.50.",
    ),
    (
        "The amount must be more than 0.",
        "Сума має бути більшою за 0.",
    ),
    (
        "An amount has at most two decimals (kopiykas).",
        "У сумі щонайбільше два знаки після коми (копійки).",
    ),
    (
        "That amount is too large: check the number.",
        "Завелика сума: перевірте число.",
    ),
    (
        "Choose how it was paid: bank transfer, cash or other.",
        "Виберіть, як сплачено: банківський переказ, готівка чи інше.",
    ),
    (
        "The form is out of date: reload the page and fill it in again.",
        "Форма застаріла: оновіть сторінку й заповніть її знову.",
    ),
    (
        "This form was already sent and is still being recorded; it counts once.",
        "Цю форму вже надіслано, і її ще записують; її буде враховано один раз.",
    ),
];

/// Sentences with parts that change (`{}`), in order.
const PATTERNS: &[(&str, &str)] = &[
    (
        "Each file can be at most {}.",
        "Кожен файл може бути щонайбільше {}.",
    ),
    (
        "This upload is {}; an order can carry at most {} of files.",
        "Це завантаження — {}; замовлення може містити щонайбільше {} файлів.",
    ),
    (
        "An order can have at most {} files.",
        "Замовлення може мати щонайбільше {} файлів.",
    ),
    ("At most {} files at once.", "Щонайбільше {} файлів за раз."),
    (
        "Order №{} has no price waiting for your answer: it is {}.",
        "Замовлення №{} не чекає вашої відповіді на ціну (його стан: {}).",
    ),
    (
        "The price for order №{} was valid until {}; it can no longer be accepted. Write to us and we will quote again.",
        "Ціна для замовлення №{} діяла до {}; прийняти її вже не можна. Напишіть нам, і ми назвемо ціну знову.",
    ),
    (
        "This is not the latest price for order №{}; please answer the latest one.",
        "Це не остання ціна для замовлення №{}; дайте відповідь на останню.",
    ),
    (
        "This account already has {} live pages open. Close one, then reload this page.",
        "У цьому обліковому записі вже відкрито {} живих сторінок. Закрийте одну й оновіть цю сторінку.",
    ),
    (
        "Too many sign-in attempts. To protect the account, signing in is paused; try again in {}.",
        "Забагато спроб входу. Щоб захистити обліковий запис, вхід призупинено; спробуйте через {}.",
    ),
    (
        "The order description can be at most 10,000 characters long; this one has {}.",
        "Опис замовлення може мати щонайбільше 10 000 символів; у цьому — {}.",
    ),
    (
        "An email address can be at most {} characters long.",
        "Адреса електронної пошти може мати щонайбільше {} символів.",
    ),
    (
        "A name can be at most {} characters long.",
        "Ім'я може мати щонайбільше {} символів.",
    ),
    (
        "The form has an unexpected field `{}`; send files as `file`.",
        "У формі є неочікуване поле `{}`; файли надсилайте як `file`.",
    ),
    (
        "The form has an unexpected field `{}`; the fields are `text`, `service_code` and `file`.",
        "У формі є неочікуване поле `{}`; поля такі: `text`, `service_code` і `file`.",
    ),
    (
        "Send the field `{}` only once.",
        "Надсилайте поле `{}` лише один раз.",
    ),
    (
        "A service code is at most {} lowercase letters, digits, '.', '_' or '-'.",
        "Код послуги — щонайбільше {} малих літер, цифр, '.', '_' або '-'.",
    ),
    (
        "The upload could not be read to the end: {}",
        "Завантаження не вдалося дочитати до кінця: {}",
    ),
    (
        "The upload form could not be read: {}",
        "Форму завантаження не вдалося прочитати: {}",
    ), // Staff: a status change the state machine or the order's version refuses (the holes
    // that are statuses read as staff name them).
    (
        "Order №{} changed since you saw it: it is now {} (version {}), you saw version {}.",
        "Замовлення №{} змінилося, відколи ви його бачили: зараз воно «{}» (версія {}), а ви бачили версію {}.",
    ),
    (
        "An order cannot go from {} to {}.",
        "Замовлення не можна перевести зі статусу «{}» у «{}».",
    ),
    (
        "Going from {} to {} needs a reason.",
        "Для переходу зі статусу «{}» у «{}» потрібна причина.",
    ),
    (
        "A customer cannot move an order from {} to {}.",
        "Клієнт не може перевести замовлення зі статусу «{}» у «{}».",
    ),
    (
        "`{}` is not a status; statuses are {}.",
        "`{}` — не статус; статуси такі: {}.",
    ),
    ("At most {} characters.", "Щонайбільше {} символів."),
    (
        "A reason can be at most {} characters long.",
        "Причина може мати щонайбільше {} символів.",
    ), // Staff recording money.
    (
        "Order №{} is priced in {}.",
        "Ціну замовлення №{} вказано в {}.",
    ),
    (
        "Order №{} has {} left to pay; a payment cannot be more.",
        "За замовлення №{} лишилося сплатити {}; оплата не може бути більшою.",
    ),
    (
        "Order №{} has nothing paid: there is nothing to refund.",
        "За замовлення №{} нічого не сплачено: повертати нічого.",
    ),
    (
        "Order №{} has {} paid: a refund cannot be more.",
        "За замовлення №{} сплачено {}: повернення не може бути більшим.",
    ),
];

const PASSWORD_PROBLEMS: [PasswordProblem; 5] = [
    PasswordProblem::TooShort,
    PasswordProblem::TooLong,
    PasswordProblem::EntirelyNumeric,
    PasswordProblem::TooSimilarToEmail,
    PasswordProblem::TooCommon,
];

fn sentence(english: &str) -> Option<String> {
    if let Some((_, uk)) = EXACT.iter().find(|(en, _)| *en == english) {
        return Some((*uk).to_owned());
    }
    for (en, uk) in PATTERNS {
        if let Some(holes) = holes(en, english) {
            let mut out = String::new();
            let mut parts = uk.split("{}");
            out.push_str(parts.next().unwrap_or_default());
            for (hole, part) in holes.iter().zip(parts) {
                out.push_str(&translate_size(hole));
                out.push_str(part);
            }
            return Some(out);
        }
    }
    passwords(english)
}

/// A hole that is a size ("2 GiB") reads in Ukrainian units; one that is a status
/// (`in_progress`) by its Ukrainian name.
fn translate_size(hole: &str) -> String {
    if let Some(status) = proto_events::OrderStatus::parse(hole) {
        return Lang::Uk.status(status);
    }
    match hole.split_once(' ') {
        Some((number, "GiB" | "MiB" | "KiB" | "bytes")) if number.parse::<f64>().is_ok() => hole
            .replace("GiB", "ГіБ")
            .replace("MiB", "МіБ")
            .replace("KiB", "КіБ")
            .replace("bytes", "байтів"),
        _ => hole.to_owned(),
    }
}

/// The parts of `text` in the `{}` holes of `pattern`, if it matches.
fn holes(pattern: &str, text: &str) -> Option<Vec<String>> {
    let literals: Vec<&str> = pattern.split("{}").collect();
    let mut rest = text.strip_prefix(literals[0])?;
    let mut found = Vec::new();
    for (i, literal) in literals.iter().enumerate().skip(1) {
        let last = i == literals.len() - 1;
        let at = if last {
            if literal.is_empty() {
                rest.len()
            } else {
                rest.strip_suffix(literal).map(str::len)?
            }
        } else {
            rest.find(literal)?
        };
        found.push(rest[..at].to_owned());
        rest = &rest[at + literal.len()..];
    }
    rest.is_empty().then_some(found)
}

/// A weak password's sentences (one per broken rule, joined by spaces).
fn passwords(english: &str) -> Option<String> {
    let mut rest = english.trim();
    let mut out = Vec::new();
    while !rest.is_empty() {
        let problem = PASSWORD_PROBLEMS
            .iter()
            .find(|p| rest.starts_with(&p.message()))?;
        out.push(problem.message_in("uk"));
        rest = rest[problem.message().len()..].trim_start();
    }
    (!out.is_empty()).then(|| out.join(" "))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn uk(error: Error) -> String {
        let english = error.to_string();
        message_in(&error, &english, Lang::Uk)
    }

    #[test]
    fn patterns_fill_their_holes() {
        assert_eq!(
            uk(Error::PayloadTooLarge {
                message: "Each file can be at most 2 GiB.".into()
            }),
            "Кожен файл може бути щонайбільше 2 ГіБ."
        );
        assert_eq!(
            uk(Error::Conflict {
                code: "quote_outdated",
                message: "This is not the latest price for order №48213097; please answer the latest one.".into()
            }),
            "Це не остання ціна для замовлення №48213097; дайте відповідь на останню."
        );
        assert!(holes("At most {} files at once.", "At most 20 files.").is_none());
    }

    #[test]
    fn quotas_and_passwords_come_from_their_data() {
        let quota = Error::Quota(QuotaExceeded::BytesPerDay {
            limit: 1 << 30,
            retry_after_secs: 10,
        });
        assert_eq!(
            uk(quota),
            "За день можна надіслати щонайбільше 1 ГіБ файлів; спробуйте завтра або напишіть нам."
        );
        let weak = bureau_accounts::WeakPassword {
            problems: vec![PasswordProblem::TooShort, PasswordProblem::EntirelyNumeric],
        };
        let said = uk(Error::unprocessable("weak_password", weak));
        assert!(said.starts_with("Пароль закороткий"), "{said}");
        assert!(
            said.ends_with("Пароль не може складатися лише з цифр."),
            "{said}"
        );
    }

    #[test]
    fn every_customer_sentence_has_a_ukrainian_one() {
        let errors = [
            Error::Unauthorized,
            Error::InvalidCredentials,
            Error::NotFound("No such order."),
            Error::broker_unavailable(),
            Error::store_unavailable(),
            Error::Busy,
            bureau_accounts::AccountError::Email(bureau_accounts::EmailError::Malformed).into(),
            bureau_accounts::AccountError::DisplayName(bureau_accounts::DisplayNameError::Empty)
                .into(),
            bureau_accounts::AccountError::EmailTaken.into(),
            Error::Quota(QuotaExceeded::FilesPerDay {
                limit: 3,
                retry_after_secs: 1,
            }),
            Error::Quota(QuotaExceeded::OpenOrders { limit: 5 }),
        ];
        for error in errors {
            let english = error.to_string();
            let said = message_in(&error, &english, Lang::Uk);
            assert_ne!(said, english, "no Ukrainian for {english:?}");
            assert!(said.chars().any(|c| ('а'..='я').contains(&c)), "{said}");
        }
    }

    #[test]
    fn every_staff_sentence_has_a_ukrainian_one() {
        use proto_events::{OrderStatus, TransitionError};
        let errors = [
            Error::Forbidden(super::super::staff::NOT_YOURS),
            Error::Forbidden(
                "Executors can only start work on accepted orders and mark work in progress as ready.",
            ),
            Error::NotFound("No such status change request."),
            Error::Conflict {
                code: "version_conflict",
                message: "Order №48213097 changed since you saw it: it is now in_progress (version 4), you saw version 3.".into(),
            },
            super::super::staff::transition_error(TransitionError::NotAllowed {
                from: OrderStatus::Delivered,
                to: OrderStatus::InProgress,
            }),
            super::super::staff::transition_error(TransitionError::ReasonRequired {
                from: OrderStatus::Accepted,
                to: OrderStatus::Rejected,
            }),
            Error::unprocessable("empty_text", "Write something first."),
            Error::unprocessable("text_too_long", "At most 4000 characters."),
            Error::unprocessable(
                "invalid_amount",
                "The amount is a number with at most two decimals, like 1250 or 1250.50.",
            ),
            Error::unprocessable(
                "invalid_currency",
                "The currency is a three-letter code, like UAH.",
            ),
            Error::unprocessable("invalid_valid_until", "The validity date is today or later."),
            Error::Conflict {
                code: "not_quotable",
                message: "A price is quoted before the order is accepted.".into(),
            },
            Error::unprocessable("invalid_assignee", "No such staff member."),
            Error::unprocessable(
                "invalid_reason",
                crate::domain::StatusReasonError,
            ),
            Error::unprocessable("staff", bureau_accounts::staff::StaffError::LastAdmin),
            // Money (`http/payments.rs`, `office/money.rs`).
            Error::Forbidden(super::super::payments::MONEY_REFUSED),
            Error::unprocessable(
                "invalid_amount",
                "The amount is a whole number of kopiykas (cents) above 0.",
            ),
            Error::unprocessable(
                "invalid_method",
                "The method is bank_transfer, cash or other (Telegram payments record themselves).",
            ),
            Error::Conflict {
                code: "closed",
                message: "The order is cancelled or rejected: record a refund, not a payment."
                    .into(),
            },
            Error::Conflict {
                code: "awaiting_quote_answer",
                message: "The customer has not answered the price quote yet.".into(),
            },
            Error::Conflict {
                code: "no_price",
                message: "The order has no price yet: quote one first.".into(),
            },
            Error::Conflict {
                code: "already_paid",
                message: "The order is paid in full already.".into(),
            },
            Error::unprocessable(
                "invalid_reason",
                "A refund needs a reason of at most 1000 characters.",
            ),
            Error::NotFound("No such payment or refund."),
            Error::unprocessable(
                "currency_mismatch",
                "Order №48213097 is priced in UAH.",
            ),
            Error::Conflict {
                code: "more_than_due",
                message: "Order №48213097 has 450.00 UAH left to pay; a payment cannot be more."
                    .into(),
            },
            Error::Conflict {
                code: "more_than_paid",
                message: "Order №48213097 has nothing paid: there is nothing to refund.".into(),
            },
            Error::Conflict {
                code: "more_than_paid",
                message: "Order №48213097 has 450.00 UAH paid: a refund cannot be more.".into(),
            },
            Error::unprocessable("invalid_amount", "Enter an amount, like 450 or 450.50."),
            Error::unprocessable("invalid_amount", "The amount must be more than 0."),
            Error::unprocessable(
                "invalid_amount",
                "An amount has at most two decimals (kopiykas).",
            ),
            Error::unprocessable("invalid_amount", "That amount is too large: check the number."),
            Error::unprocessable(
                "invalid_method",
                "Choose how it was paid: bank transfer, cash or other.",
            ),
            Error::unprocessable(
                "stale_form",
                "The form is out of date: reload the page and fill it in again.",
            ),
            Error::Conflict {
                code: "form_in_progress",
                message: "This form was already sent and is still being recorded; it counts once."
                    .into(),
            },
        ];
        for error in errors {
            let english = error.to_string();
            let said = message_in(&error, &english, Lang::Uk);
            assert_ne!(said, english, "no Ukrainian for {english:?}");
            assert!(
                !said.contains("in_progress") && !said.contains("delivered"),
                "{said}"
            );
        }
    }

    #[test]
    fn api_clients_that_ask_for_nothing_keep_english() {
        let mut headers = HeaderMap::new();
        assert_eq!(asked(&headers), None);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("de, uk;q=0.5, en;q=0.4"),
        );
        assert_eq!(asked(&headers), Some(Lang::Uk));
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("fr"));
        assert_eq!(asked(&headers), None);
        headers.insert(header::COOKIE, HeaderValue::from_static("bureau_lang=en"));
        assert_eq!(asked(&headers), Some(Lang::En));
    }
}
