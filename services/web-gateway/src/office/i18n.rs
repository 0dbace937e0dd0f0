//! The back office's words in Ukrainian and English, and which of the two a request gets:
//! the `bureau_lang` cookie (set by the switch in the header) first, then the browser's
//! `Accept-Language`, then Ukrainian.
//!
//! The texts are one struct per language, so a template naming a text that does not exist
//! does not compile, and a text missing in one language does not either.

use axum::http::{HeaderMap, header};
use proto_events::{OrderStatus, RefusalCode};

/// The cookie that keeps the language a staff member chose.
pub const LANGUAGE_COOKIE: &str = "bureau_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Uk,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Uk => "uk",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "uk" => Some(Lang::Uk),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The cookie's choice, else the first language of `Accept-Language` we speak (by its
    /// order of preference, `q` weights honoured), else Ukrainian.
    pub fn of_request(headers: &HeaderMap) -> Lang {
        let chosen = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|cookies| cookies.split(';'))
            .filter_map(|cookie| cookie.trim().split_once('='))
            .find(|(name, _)| *name == LANGUAGE_COOKIE)
            .and_then(|(_, value)| Lang::parse(value));
        if let Some(lang) = chosen {
            return lang;
        }
        let accepted = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let mut offers: Vec<(f32, Lang)> = accepted
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let tag = parts.next()?.trim();
                let primary = tag.split(['-', '_']).next()?;
                let lang = Lang::parse(primary)?;
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((q, lang))
            })
            .collect();
        // Stable: equal weights keep the browser's order.
        offers.sort_by(|a, b| b.0.total_cmp(&a.0));
        offers.first().map(|(_, lang)| *lang).unwrap_or(Lang::Uk)
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Uk => &UK,
            Lang::En => &EN,
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::Uk => Lang::En,
            Lang::En => Lang::Uk,
        }
    }

    /// A status's name as staff read it (customers read the shared catalogue's, written
    /// for them: "awaiting your approval of the price" is "quoted" at the desk).
    pub fn status(self, status: OrderStatus) -> String {
        use OrderStatus::*;
        let name = match (self, status) {
            (Lang::Uk, AwaitingConfirmation) => "Нове",
            (Lang::Uk, Quoted) => "Ціну запропоновано",
            (Lang::Uk, Accepted) => "Прийнято",
            (Lang::Uk, InProgress) => "В роботі",
            (Lang::Uk, Ready) => "Готово",
            (Lang::Uk, Delivered) => "Видано",
            (Lang::Uk, Cancelled) => "Скасовано",
            (Lang::Uk, Rejected) => "Відхилено",
            (Lang::En, AwaitingConfirmation) => "New",
            (Lang::En, Quoted) => "Quoted",
            (Lang::En, Accepted) => "Accepted",
            (Lang::En, InProgress) => "In progress",
            (Lang::En, Ready) => "Ready",
            (Lang::En, Delivered) => "Delivered",
            (Lang::En, Cancelled) => "Cancelled",
            (Lang::En, Rejected) => "Rejected",
        };
        name.to_owned()
    }
}

impl Lang {
    /// Why the persistence worker refused a status change, as staff read it: from its code
    /// (the worker's own sentence, `english`, is English: kept for English readers when it
    /// is there).
    pub fn refusal(self, code: Option<&str>, english: Option<&str>) -> String {
        let code = code.and_then(RefusalCode::parse);
        if self == Lang::En
            && let Some(sentence) = english.filter(|e| !e.trim().is_empty())
        {
            return sentence.to_owned();
        }
        let Some(code) = code else {
            return match self {
                Lang::Uk => "Зміну не записано.",
                Lang::En => "The change was not recorded.",
            }
            .to_owned();
        };
        use RefusalCode::*;
        let sentence = match (self, code) {
            (Lang::Uk, VersionConflict) => {
                "Замовлення тим часом змінив хтось інший: подивіться, де воно зараз, і спробуйте знову."
            }
            (Lang::Uk, AlreadyInStatus) => "Замовлення вже в цьому статусі.",
            (Lang::Uk, TransitionNotAllowed) => "З поточного статусу сюди перевести не можна.",
            (Lang::Uk, ReasonRequired) => "Для цього переходу потрібна причина.",
            (Lang::Uk, NotAllowedForCustomer) => "Клієнт не може зробити такий перехід.",
            (Lang::Uk, QuoteOutdated) => "Це не остання запропонована ціна.",
            (Lang::Uk, QuoteExpired) => "Термін дії ціни минув.",
            (Lang::En, VersionConflict) => {
                "Someone else changed the order meanwhile: look where it is now and try again."
            }
            (Lang::En, AlreadyInStatus) => "The order is already in this status.",
            (Lang::En, TransitionNotAllowed) => "The order cannot move there from its status.",
            (Lang::En, ReasonRequired) => "This move needs a reason.",
            (Lang::En, NotAllowedForCustomer) => "A customer cannot make this move.",
            (Lang::En, QuoteOutdated) => "This is not the latest price quoted.",
            (Lang::En, QuoteExpired) => "The price is past its validity.",
        };
        sentence.to_owned()
    }

    /// Why the storage worker did not store a file, as staff read it: from its code (the
    /// worker's sentence is English, kept for English readers).
    pub fn file_rejection(self, code: Option<&str>, english: Option<&str>) -> String {
        if self == Lang::En {
            return english.unwrap_or_default().to_owned();
        }
        match code.unwrap_or_default() {
            "empty" => "файл порожній",
            "type_refused" => "файли такого типу ми не приймаємо",
            "too_large" => "файл більший, ніж ми приймаємо",
            "too_big_for_telegram" => {
                "завеликий, щоб забрати його з Telegram; клієнт може завантажити його за вебпосиланням"
            }
            "telegram_file_unavailable" => {
                "Telegram не віддав цей файл; клієнт має надіслати його ще раз"
            }
            "upload_missing" => "завантажений файл не знайдено; його треба завантажити ще раз",
            _ => "файл не збережено",
        }
        .to_owned()
    }

    /// Every refusal's sentence by its code, as JSON (`{"version_conflict": "…"}`), for the
    /// board's script: a card whose move is refused says why in the page's language.
    pub fn refusals_json(self) -> String {
        let all = [
            RefusalCode::VersionConflict,
            RefusalCode::AlreadyInStatus,
            RefusalCode::TransitionNotAllowed,
            RefusalCode::ReasonRequired,
            RefusalCode::NotAllowedForCustomer,
            RefusalCode::QuoteOutdated,
            RefusalCode::QuoteExpired,
        ];
        let map: serde_json::Map<String, serde_json::Value> = all
            .into_iter()
            .map(|code| {
                (
                    code.as_str().to_owned(),
                    // The code's own sentence: the worker's English one is not at hand.
                    serde_json::Value::String(self.refusal(Some(code.as_str()), None)),
                )
            })
            .collect();
        serde_json::Value::Object(map).to_string()
    }
}

/// Every text of the back office's pages.
pub struct Texts {
    pub language_name: &'static str,
    pub office: &'static str,
    pub orders: &'static str,
    pub board: &'static str,
    pub nav_catalogue: &'static str,
    pub nav_staff: &'static str,
    pub nav_business: &'static str,
    pub nav_audit: &'static str,
    pub reports: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub wrong_credentials: &'static str,
    pub try_later: &'static str,
    pub staff_only: &'static str,
    pub signed_out: &'static str,
    pub all: &'static str,
    pub status: &'static str,
    pub channel: &'static str,
    pub service: &'static str,
    pub assignee: &'static str,
    pub unassigned: &'static str,
    pub assigned_to_me: &'static str,
    pub period: &'static str,
    pub any_time: &'static str,
    pub today: &'static str,
    pub this_week: &'static str,
    pub this_month: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub search: &'static str,
    pub search_hint: &'static str,
    pub apply: &'static str,
    pub reset: &'static str,
    pub number: &'static str,
    pub customer: &'static str,
    pub created: &'static str,
    pub no_orders: &'static str,
    pub older: &'static str,
    pub first_page: &'static str,
    pub live_changes: &'static str,
    pub reload: &'static str,
    pub telegram: &'static str,
    pub web: &'static str,
    pub unreachable: &'static str,
    pub email_bouncing: &'static str,
    pub phone: &'static str,
    pub username: &'static str,
    pub other_orders: &'static str,
    pub none: &'static str,
    pub description: &'static str,
    pub files: &'static str,
    pub results: &'static str,
    pub download: &'static str,
    pub no_files: &'static str,
    pub file_waiting: &'static str,
    pub file_rejected: &'static str,
    pub timeline: &'static str,
    pub change_status: &'static str,
    pub move_to: &'static str,
    pub reason: &'static str,
    pub reason_hint: &'static str,
    pub needs_reason: &'static str,
    pub no_moves: &'static str,
    pub send: &'static str,
    pub save: &'static str,
    pub assign: &'static str,
    pub take_order: &'static str,
    pub quote: &'static str,
    pub amount: &'static str,
    pub currency: &'static str,
    pub note: &'static str,
    pub quote_hint: &'static str,
    pub reply: &'static str,
    pub reply_hint: &'static str,
    pub comment: &'static str,
    pub comment_hint: &'static str,
    pub upload_result: &'static str,
    pub upload: &'static str,
    pub uploaded: &'static str,
    pub upload_failed: &'static str,
    pub pending: &'static str,
    pub recorded: &'static str,
    pub refused: &'static str,
    pub now_it_is: &'static str,
    pub ev_created: &'static str,
    pub ev_status: &'static str,
    pub ev_customer_message: &'static str,
    pub ev_staff_reply: &'static str,
    pub ev_comment: &'static str,
    pub ev_file: &'static str,
    pub ev_result: &'static str,
    pub ev_quote: &'static str,
    pub ev_assigned: &'static str,
    pub ev_unassigned: &'static str,
    pub ev_push: &'static str,
    pub ev_push_email: &'static str,
    pub by_customer: &'static str,
    pub by_system: &'static str,
    pub internal: &'static str,
    pub refusal_title: &'static str,
    pub refusal_text: &'static str,
    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
    pub error_title: &'static str,
    pub error_text: &'static str,
    pub back_to_orders: &'static str,
    pub done: &'static str,
    // The customers pages, the list's order, the board's drag, quote validity, failed
    // pushes (office).
    pub sort: &'static str,
    pub sort_newest: &'static str,
    pub sort_oldest: &'static str,
    pub sort_updated: &'static str,
    pub to_first_page: &'static str,
    pub next_page: &'static str,
    pub customers: &'static str,
    pub customer_search_hint: &'static str,
    pub no_customers: &'static str,
    pub last_order: &'static str,
    pub customer_since: &'static str,
    pub all_orders: &'static str,
    pub conversation: &'static str,
    pub no_messages: &'static str,
    pub language: &'static str,
    pub drag_hint: &'static str,
    pub drag_not_allowed: &'static str,
    pub drag_moving: &'static str,
    pub drag_refused: &'static str,
    pub drag_recorded: &'static str,
    pub valid_until: &'static str,
    pub expired: &'static str,
    pub push_failed: &'static str,
    pub push_blocked: &'static str,
    pub push_unreachable: &'static str,
    pub push_gave_up: &'static str,
    // The order page's payments (`office::money`).
    pub pay_title: &'static str,
    pub pay_total: &'static str,
    pub pay_agreed: &'static str,
    pub pay_quoted: &'static str,
    pub pay_price: &'static str,
    pub pay_no_price: &'static str,
    pub pay_paid: &'static str,
    pub pay_refunded: &'static str,
    pub pay_left: &'static str,
    pub pay_in_full: &'static str,
    pub pay_overpaid: &'static str,
    pub pay_none: &'static str,
    pub pay_when: &'static str,
    pub pay_what: &'static str,
    pub pay_who: &'static str,
    pub pay_reference: &'static str,
    pub pay_telegram: &'static str,
    pub pay_bank_transfer: &'static str,
    pub pay_cash: &'static str,
    pub pay_other: &'static str,
    pub pay_refund: &'static str,
    pub pay_record: &'static str,
    pub pay_record_hint: &'static str,
    pub pay_method: &'static str,
    pub pay_reference_hint: &'static str,
    pub pay_save: &'static str,
    pub pay_blocked_closed: &'static str,
    pub pay_blocked_answer: &'static str,
    pub pay_blocked_price: &'static str,
    pub pay_blocked_paid: &'static str,
    pub refund_record: &'static str,
    pub refund_reason_hint: &'static str,
    pub refund_at_most: &'static str,
    pub refund_save: &'static str,
    pub pay_recorded: &'static str,
    pub refund_recorded: &'static str,
    pub pay_pending: &'static str,
    pub refund_pending: &'static str,
    pub pay_again: &'static str,
    pub ev_payment: &'static str,
    pub ev_refund: &'static str,
}

pub static UK: Texts = Texts {
    language_name: "Українська",
    office: "Бюро · кабінет",
    orders: "Замовлення",
    board: "Дошка",
    nav_catalogue: "Каталог",
    nav_staff: "Працівники",
    nav_business: "Про бізнес",
    nav_audit: "Журнал дій",
    reports: "Звіти",
    sign_in: "Увійти",
    sign_out: "Вийти",
    email: "Електронна пошта",
    password: "Пароль",
    wrong_credentials: "Неправильна пошта або пароль.",
    try_later: "Забагато спроб входу. Зачекайте трохи й спробуйте знову.",
    staff_only: "Ця сторінка лише для працівників.",
    signed_out: "Ви вийшли.",
    all: "усі",
    status: "Статус",
    channel: "Канал",
    service: "Послуга",
    assignee: "Виконавець",
    unassigned: "не призначено",
    assigned_to_me: "мої",
    period: "Період",
    any_time: "будь-коли",
    today: "сьогодні",
    this_week: "цей тиждень",
    this_month: "цей місяць",
    from: "з",
    to: "по",
    search: "Пошук",
    search_hint: "номер, ім'я, телефон, @username, слова з опису",
    apply: "Показати",
    reset: "Скинути",
    number: "Номер",
    customer: "Клієнт",
    created: "Створено",
    no_orders: "Немає замовлень за цими умовами.",
    older: "Старіші →",
    first_page: "← На початок",
    live_changes: "Є зміни.",
    reload: "Оновити",
    telegram: "Telegram",
    web: "Сайт",
    unreachable: "недосяжний у Telegram з",
    email_bouncing: "ми не змогли доставити лист на цю адресу, листів не надсилаємо з",
    phone: "Телефон",
    username: "Telegram",
    other_orders: "Інші замовлення",
    none: "—",
    description: "Опис",
    files: "Файли клієнта",
    results: "Результати",
    download: "Завантажити",
    no_files: "Файлів немає.",
    file_waiting: "ще надходить",
    file_rejected: "відхилено",
    timeline: "Історія",
    change_status: "Змінити статус",
    move_to: "Перевести в",
    reason: "Причина",
    reason_hint: "потрібна для відмови, скасування після прийняття, повернення на доопрацювання",
    needs_reason: "потрібна причина",
    no_moves: "З цього статусу переходів немає.",
    send: "Надіслати",
    save: "Зберегти",
    assign: "Призначити",
    take_order: "Взяти собі",
    quote: "Ціна",
    amount: "Сума",
    currency: "Валюта",
    note: "Примітка",
    quote_hint: "Клієнт отримає кнопки «Прийняти» і «Відхилити».",
    reply: "Відповідь клієнту",
    reply_hint: "Клієнт отримає це повідомлення.",
    comment: "Внутрішній коментар",
    comment_hint: "Бачать лише працівники.",
    upload_result: "Завантажити результат",
    upload: "Завантажити",
    uploaded: "Завантажено; клієнт отримає файл, щойно його буде збережено.",
    upload_failed: "Не вдалося завантажити",
    pending: "очікує запису",
    recorded: "записано",
    refused: "не змінено",
    now_it_is: "зараз",
    ev_created: "Замовлення створено",
    ev_status: "Статус",
    ev_customer_message: "Клієнт пише",
    ev_staff_reply: "Відповідь клієнту",
    ev_comment: "Внутрішній коментар",
    ev_file: "Файл від клієнта",
    ev_result: "Результат",
    ev_quote: "Ціна",
    ev_assigned: "Призначено",
    ev_unassigned: "Знято призначення",
    ev_push: "Клієнту надіслано в Telegram",
    ev_push_email: "Клієнту надіслано листом",
    by_customer: "клієнт",
    by_system: "система",
    internal: "внутрішнє",
    refusal_title: "Немає доступу",
    refusal_text: "Це замовлення доручене іншому працівникові, тож відкрити його ви не можете.",
    not_found_title: "Не знайдено",
    not_found_text: "Такого замовлення чи файлу немає.",
    error_title: "Щось пішло не так",
    error_text: "Спробуйте ще раз за кілька секунд.",
    back_to_orders: "До замовлень",
    done: "Готово.",
    sort: "Порядок",
    sort_newest: "спершу нові",
    sort_oldest: "спершу старі",
    sort_updated: "нещодавно змінені",
    to_first_page: "← На першу сторінку",
    next_page: "Далі →",
    customers: "Клієнти",
    customer_search_hint: "ім'я, телефон, e-mail, @username",
    no_customers: "Немає клієнтів за цими умовами.",
    last_order: "Останнє замовлення",
    customer_since: "клієнт з",
    all_orders: "Усі замовлення клієнта →",
    conversation: "Листування",
    no_messages: "Повідомлень немає.",
    language: "Мова",
    drag_hint: "Перетягніть картку в іншу колонку, щоб змінити статус.",
    drag_not_allowed: "Сюди це замовлення перевести не можна.",
    drag_moving: "Змінюємо…",
    drag_refused: "Не змінено",
    drag_recorded: "Записано",
    valid_until: "Дійсна до",
    expired: "термін минув",
    push_failed: "Не вдалося надіслати клієнту в Telegram",
    push_blocked: "клієнт заблокував бота",
    push_unreachable: "не надсилали: клієнт недосяжний у Telegram",
    push_gave_up: "Telegram не прийняв повідомлення",
    pay_title: "Оплати",
    pay_total: "Сума замовлення",
    pay_agreed: "Погоджена ціна",
    pay_quoted: "Запропонована ціна (клієнт ще не відповів)",
    pay_price: "Ціна",
    pay_no_price: "ще немає",
    pay_paid: "Сплачено",
    pay_refunded: "Повернено",
    pay_left: "До сплати",
    pay_in_full: "Сплачено повністю",
    pay_overpaid: "Переплата",
    pay_none: "Оплат ще немає.",
    pay_when: "Коли",
    pay_what: "Що",
    pay_who: "Хто",
    pay_reference: "Призначення, примітка",
    pay_telegram: "Оплата в Telegram",
    pay_bank_transfer: "Банківський переказ",
    pay_cash: "Готівка",
    pay_other: "Інший спосіб",
    pay_refund: "Повернення",
    pay_record: "Записати оплату",
    pay_record_hint: "Оплата, що надійшла не через Telegram: переказ на рахунок, готівка в касі.",
    pay_method: "Спосіб",
    pay_reference_hint: "номер платіжки чи квитанції",
    pay_save: "Записати оплату",
    pay_blocked_closed: "Замовлення скасоване або відхилене: оплату не записують.",
    pay_blocked_answer: "Клієнт ще не відповів на запропоновану ціну: оплату записують після відповіді.",
    pay_blocked_price: "Ціни ще немає: спершу запропонуйте її.",
    pay_blocked_paid: "Сплачено повністю: більше нічого сплачувати.",
    refund_record: "Записати повернення",
    refund_reason_hint: "чому повертаємо, напр. одну сторінку не перекладали",
    refund_at_most: "Можна повернути щонайбільше",
    refund_save: "Записати повернення",
    pay_recorded: "Оплату записано",
    refund_recorded: "Повернення записано",
    pay_pending: "Записуємо оплату…",
    refund_pending: "Записуємо повернення…",
    pay_again: "Цю форму вже було надіслано; її враховано один раз.",
    ev_payment: "Оплата",
    ev_refund: "Повернення коштів",
};

pub static EN: Texts = Texts {
    language_name: "English",
    office: "Bureau · back office",
    orders: "Orders",
    board: "Board",
    nav_catalogue: "Catalogue",
    nav_staff: "Staff",
    nav_business: "Business",
    nav_audit: "Audit log",
    reports: "Reports",
    sign_in: "Sign in",
    sign_out: "Sign out",
    email: "Email",
    password: "Password",
    wrong_credentials: "Wrong email or password.",
    try_later: "Too many sign-in attempts. Wait a little and try again.",
    staff_only: "This page is for staff only.",
    signed_out: "You are signed out.",
    all: "all",
    status: "Status",
    channel: "Channel",
    service: "Service",
    assignee: "Assignee",
    unassigned: "unassigned",
    assigned_to_me: "mine",
    period: "Period",
    any_time: "any time",
    today: "today",
    this_week: "this week",
    this_month: "this month",
    from: "from",
    to: "to",
    search: "Search",
    search_hint: "number, name, phone, @username, words of the description",
    apply: "Show",
    reset: "Reset",
    number: "Number",
    customer: "Customer",
    created: "Created",
    no_orders: "No orders match.",
    older: "Older →",
    first_page: "← Newest",
    live_changes: "There are changes.",
    reload: "Refresh",
    telegram: "Telegram",
    web: "Web",
    unreachable: "unreachable in Telegram since",
    email_bouncing: "we could not deliver mail to this address; not e-mailed since",
    phone: "Phone",
    username: "Telegram",
    other_orders: "Other orders",
    none: "—",
    description: "Description",
    files: "Customer's files",
    results: "Results",
    download: "Download",
    no_files: "No files.",
    file_waiting: "still arriving",
    file_rejected: "refused",
    timeline: "Timeline",
    change_status: "Change status",
    move_to: "Move to",
    reason: "Reason",
    reason_hint: "needed to reject, to cancel once accepted, to send back for rework",
    needs_reason: "needs a reason",
    no_moves: "No moves from this status.",
    send: "Send",
    save: "Save",
    assign: "Assign",
    take_order: "Take it",
    quote: "Price",
    amount: "Amount",
    currency: "Currency",
    note: "Note",
    quote_hint: "The customer gets Accept and Decline buttons.",
    reply: "Reply to the customer",
    reply_hint: "The customer receives this message.",
    comment: "Internal comment",
    comment_hint: "Only staff see it.",
    upload_result: "Upload a result",
    upload: "Upload",
    uploaded: "Uploaded; the customer gets the file once it is stored.",
    upload_failed: "Upload failed",
    pending: "pending",
    recorded: "recorded",
    refused: "not changed",
    now_it_is: "now",
    ev_created: "Order placed",
    ev_status: "Status",
    ev_customer_message: "Customer wrote",
    ev_staff_reply: "Reply to the customer",
    ev_comment: "Internal comment",
    ev_file: "File from the customer",
    ev_result: "Result",
    ev_quote: "Price quoted",
    ev_assigned: "Assigned",
    ev_unassigned: "Unassigned",
    ev_push: "Sent to the customer in Telegram",
    ev_push_email: "E-mailed to the customer",
    by_customer: "customer",
    by_system: "system",
    internal: "internal",
    refusal_title: "No access",
    refusal_text: "This order is assigned to someone else, so you cannot open it.",
    not_found_title: "Not found",
    not_found_text: "There is no such order or file.",
    error_title: "Something went wrong",
    error_text: "Please try again in a few seconds.",
    back_to_orders: "Back to orders",
    done: "Done.",
    sort: "Order",
    sort_newest: "newest first",
    sort_oldest: "oldest first",
    sort_updated: "recently updated",
    to_first_page: "← First page",
    next_page: "Next →",
    customers: "Customers",
    customer_search_hint: "name, phone, e-mail, @username",
    no_customers: "No customers match.",
    last_order: "Last order",
    customer_since: "customer since",
    all_orders: "All their orders →",
    conversation: "Conversation",
    no_messages: "No messages.",
    language: "Language",
    drag_hint: "Drag a card to another column to change its status.",
    drag_not_allowed: "This order cannot move there.",
    drag_moving: "Moving…",
    drag_refused: "Not changed",
    drag_recorded: "Recorded",
    valid_until: "Valid until",
    expired: "expired",
    push_failed: "Could not be sent to the customer in Telegram",
    push_blocked: "the customer blocked the bot",
    push_unreachable: "not tried: the customer is unreachable in Telegram",
    push_gave_up: "Telegram did not take the message",
    pay_title: "Payments",
    pay_total: "Order total",
    pay_agreed: "Agreed price",
    pay_quoted: "Quoted price (awaiting the customer's answer)",
    pay_price: "Price",
    pay_no_price: "none yet",
    pay_paid: "Paid",
    pay_refunded: "Refunded",
    pay_left: "Left to pay",
    pay_in_full: "Paid in full",
    pay_overpaid: "Overpaid by",
    pay_none: "No payments yet.",
    pay_when: "When",
    pay_what: "What",
    pay_who: "Who",
    pay_reference: "Reference, note",
    pay_telegram: "Paid in Telegram",
    pay_bank_transfer: "Bank transfer",
    pay_cash: "Cash",
    pay_other: "Other",
    pay_refund: "Refund",
    pay_record: "Record a payment",
    pay_record_hint: "Money received another way than Telegram: a bank transfer, cash at the desk.",
    pay_method: "Method",
    pay_reference_hint: "the bank's reference, a receipt number",
    pay_save: "Record payment",
    pay_blocked_closed: "The order is cancelled or rejected: no payment is recorded.",
    pay_blocked_answer: "The customer has not answered the quoted price yet: payments come after the answer.",
    pay_blocked_price: "No price yet: quote one first.",
    pay_blocked_paid: "Paid in full: nothing is left to pay.",
    refund_record: "Record a refund",
    refund_reason_hint: "why, e.g. one page less than ordered",
    refund_at_most: "Refundable, at most",
    refund_save: "Record refund",
    pay_recorded: "Payment recorded",
    refund_recorded: "Refund recorded",
    pay_pending: "Recording the payment…",
    refund_pending: "Recording the refund…",
    pay_again: "This form had already been sent; it counts once.",
    ev_payment: "Payment received",
    ev_refund: "Refund",
};

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(name.clone(), HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn refusals_read_in_the_page_language() {
        let worker = "order 48213097 is at version 5, not 4";
        let uk = Lang::Uk.refusal(Some("version_conflict"), Some(worker));
        assert!(uk.starts_with("Замовлення тим часом змінив"), "{uk}");
        assert_eq!(
            Lang::En.refusal(Some("version_conflict"), Some(worker)),
            worker
        );
        assert_eq!(
            Lang::En.refusal(Some("reason_required"), None),
            "This move needs a reason."
        );
        assert_eq!(
            Lang::Uk.refusal(Some("nonsense"), None),
            "Зміну не записано."
        );
        let json: serde_json::Value = serde_json::from_str(&Lang::Uk.refusals_json()).unwrap();
        assert_eq!(
            json["transition_not_allowed"],
            "З поточного статусу сюди перевести не можна."
        );
        assert_eq!(json.as_object().unwrap().len(), 7);
    }

    #[test]
    fn the_cookie_wins_then_accept_language_then_ukrainian() {
        assert_eq!(Lang::of_request(&HeaderMap::new()), Lang::Uk);
        assert_eq!(
            Lang::of_request(&headers(&[(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9")])),
            Lang::En
        );
        assert_eq!(
            Lang::of_request(&headers(&[(
                header::ACCEPT_LANGUAGE,
                "de-DE, en;q=0.5, uk;q=0.8"
            )])),
            Lang::Uk
        );
        assert_eq!(
            Lang::of_request(&headers(&[
                (header::ACCEPT_LANGUAGE, "en"),
                (header::COOKIE, "a=b; bureau_lang=uk")
            ])),
            Lang::Uk
        );
        assert_eq!(
            Lang::of_request(&headers(&[(header::COOKIE, "bureau_lang=xx")])),
            Lang::Uk
        );
    }
}
