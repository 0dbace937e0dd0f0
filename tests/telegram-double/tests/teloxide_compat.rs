//! The compatibility proof: teloxide's own client and types talk to the
//! double — every answer below is deserialized by teloxide-core, and the
//! errors arrive as the typed `RequestError`s teloxide users match on.

mod common;

use std::time::Duration;

use common::{WAIT, bot, start, start_with, within};
use sha2::{Digest, Sha256};
use telegram_double::{DoubleConfig, Fault};
use teloxide::net::Download;
use teloxide::payloads::{
    AnswerCallbackQuerySetters, EditMessageReplyMarkupSetters, GetUpdatesSetters,
    SendDocumentSetters, SendMessageSetters, SetWebhookSetters,
};
use teloxide::prelude::*;
use teloxide::types::{
    BotCommand, CallbackQueryId, ChatAction, ChatMemberKind, InlineKeyboardButton,
    InlineKeyboardMarkup, InputFile, KeyboardButton, KeyboardMarkup, MessageId, UpdateKind,
};
use teloxide::{ApiError, RequestError};

#[tokio::test]
async fn get_me_parses_as_me() {
    let double = start().await;
    let me = bot(&double).get_me().await.expect("getMe");
    assert!(me.is_bot);
    assert_eq!(me.id.0, 123456);
    assert_eq!(me.username(), "bureau_test_bot");
    assert!(me.can_join_groups);
}

#[tokio::test]
async fn every_kind_of_user_update_parses() {
    let double = start().await;
    let bot = bot(&double);
    let alice = double.user_with(1001, "Alice", "de");
    let text_id = alice.send_text("/start hello");
    let doc_id = alice.send_document(
        "report.pdf",
        "application/pdf",
        b"%PDF-1.7 tiny".to_vec(),
        Some("the report"),
    );
    alice.send_photo(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], Some("a photo"));
    let album = alice.send_media_group(
        vec![
            ("a.txt".into(), "text/plain".into(), b"aaa".to_vec()),
            ("b.txt".into(), "text/plain".into(), b"bbb".to_vec()),
        ],
        Some("album"),
    );
    alice.send_contact("+49 30 1234567");
    alice.send_sticker();
    alice.send_location(52.52, 13.405);
    let sent = bot
        .send_message(ChatId(1001), "menu")
        .await
        .expect("sendMessage");
    let query_id = alice.press_button(sent.id.0 as i64, "orders");
    alice.block_bot();

    let updates = bot.get_updates().await.expect("getUpdates");
    assert_eq!(updates.len(), 10, "{updates:#?}");
    for update in &updates {
        assert!(
            !matches!(update.kind, UpdateKind::Error(_)),
            "teloxide could not parse {update:#?}"
        );
    }
    let messages: Vec<&Message> = updates
        .iter()
        .filter_map(|u| match &u.kind {
            UpdateKind::Message(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(messages.len(), 8);

    let text = messages[0];
    assert_eq!(text.id, MessageId(text_id as i32));
    assert_eq!(text.text(), Some("/start hello"));
    assert_eq!(text.chat.id, ChatId(1001));
    assert!(text.chat.is_private());
    let from = text.from.as_ref().expect("from");
    assert_eq!(from.first_name, "Alice");
    assert_eq!(from.language_code.as_deref(), Some("de"));

    let doc = messages[1].document().expect("document");
    assert_eq!(messages[1].id, MessageId(doc_id as i32));
    assert_eq!(doc.file_name.as_deref(), Some("report.pdf"));
    assert_eq!(doc.file.size, 13);
    assert_eq!(
        doc.mime_type
            .as_ref()
            .map(|m| m.essence_str().to_owned())
            .as_deref(),
        Some("application/pdf")
    );
    assert_eq!(messages[1].caption(), Some("the report"));

    let photo = messages[2].photo().expect("photo");
    assert_eq!(photo.len(), 2);
    assert_eq!(messages[2].caption(), Some("a photo"));

    assert_eq!(album.len(), 2);
    let group = messages[3].media_group_id().expect("media group");
    assert_eq!(messages[4].media_group_id(), Some(group));
    assert_eq!(messages[3].caption(), Some("album"));
    assert_eq!(messages[4].caption(), None);

    let contact = messages[5].contact().expect("contact");
    assert_eq!(contact.phone_number, "+49 30 1234567");
    assert_eq!(contact.user_id.map(|u| u.0), Some(1001));
    assert!(messages[6].sticker().is_some());
    let location = messages[7].location().expect("location");
    assert!((location.latitude - 52.52).abs() < 1e-9);

    let UpdateKind::CallbackQuery(query) = &updates[8].kind else {
        panic!("{:#?}", updates[8])
    };
    assert_eq!(query.id, CallbackQueryId(query_id));
    assert_eq!(query.data.as_deref(), Some("orders"));
    assert_eq!(query.regular_message().map(|m| m.id), Some(sent.id));

    let UpdateKind::MyChatMember(member) = &updates[9].kind else {
        panic!("{:#?}", updates[9])
    };
    assert!(matches!(
        member.new_chat_member.kind,
        ChatMemberKind::Banned(_)
    ));

    // Unconfirmed updates come again; an offset past the last confirms them all.
    assert_eq!(double.pending_updates(), 10);
    let again = bot.get_updates().await.unwrap();
    assert_eq!(again.first().map(|u| u.id), updates.first().map(|u| u.id));
    let next = updates.last().unwrap().id.0 as i32 + 1;
    let rest = bot.get_updates().offset(next).await.unwrap();
    assert!(rest.is_empty());
    assert_eq!(double.pending_updates(), 0);
}

#[tokio::test]
async fn long_poll_returns_as_soon_as_an_update_arrives() {
    let double = start().await;
    let bot = bot(&double);
    let bob = double.user(7);
    let poll = tokio::spawn({
        let bot = bot.clone();
        async move { bot.get_updates().timeout(10).await }
    });
    // Once the call is counted the poll is parked (counting and parking happen
    // without an await in between); the update must wake it.
    within("poll parked", async {
        while double.stats().calls_of("getUpdates") < 1 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let started = std::time::Instant::now();
    bob.send_text("ping");
    let updates = within("long poll", poll)
        .await
        .unwrap()
        .expect("getUpdates");
    assert_eq!(updates.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "woke on the update, not the timeout"
    );
}

#[tokio::test]
async fn send_edit_delete_and_keyboards() {
    let double = start().await;
    let bot = bot(&double);
    let carol = double.user(42);

    let keyboard = InlineKeyboardMarkup::new(vec![vec![
        InlineKeyboardButton::callback("Yes", "order:yes"),
        InlineKeyboardButton::url("Site", "https://example.com".parse().unwrap()),
    ]]);
    let msg = bot
        .send_message(ChatId(42), "<b>Confirm?</b>")
        .parse_mode(teloxide::types::ParseMode::Html)
        .reply_markup(keyboard)
        .await
        .expect("sendMessage");
    assert_eq!(msg.text(), Some("<b>Confirm?</b>"));
    assert_eq!(
        msg.reply_markup().map(|k| k.inline_keyboard[0].len()),
        Some(2)
    );

    let reply_kb = KeyboardMarkup::new(vec![vec![
        KeyboardButton::new("Orders"),
        KeyboardButton::new("Help"),
    ]])
    .resize_keyboard();
    let with_reply_kb = bot
        .send_message(ChatId(42), "menu")
        .reply_markup(reply_kb)
        .await
        .expect("reply keyboard");
    assert!(
        with_reply_kb.reply_markup().is_none(),
        "Telegram returns only inline keyboards"
    );

    let sent = double.messages_to(42);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].inline_buttons(),
        vec![
            ("Yes".into(), "order:yes".into()),
            ("Site".into(), "https://example.com/".into())
        ]
    );
    assert_eq!(
        sent[1].reply_keyboard(),
        vec!["Orders".to_owned(), "Help".to_owned()]
    );

    let edited = bot
        .edit_message_text(ChatId(42), msg.id, "Confirmed")
        .await
        .expect("editMessageText");
    assert_eq!(edited.text(), Some("Confirmed"));
    assert!(edited.edit_date().is_some());
    assert!(
        edited.reply_markup().is_none(),
        "editing text without a markup drops the keyboard"
    );
    let same = bot.edit_message_text(ChatId(42), msg.id, "Confirmed").await;
    assert!(
        matches!(same, Err(RequestError::Api(ApiError::MessageNotModified))),
        "{same:?}"
    );

    let new_kb = InlineKeyboardMarkup::new(vec![vec![InlineKeyboardButton::callback(
        "Undo",
        "order:undo",
    )]]);
    bot.edit_message_reply_markup(ChatId(42), msg.id)
        .reply_markup(new_kb)
        .await
        .expect("editMessageReplyMarkup");
    let last = double.messages_to(42).pop().unwrap();
    assert!(last.edited);
    assert_eq!(last.body(), "Confirmed");
    assert_eq!(
        last.inline_buttons(),
        vec![("Undo".into(), "order:undo".into())]
    );

    let query = carol.press_button(msg.id.0 as i64, "order:undo");
    bot.answer_callback_query(CallbackQueryId(query.clone()))
        .text("Undone")
        .await
        .expect("answerCallbackQuery");
    let answers = double.callback_answers();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].callback_query_id, query);
    assert_eq!(answers[0].text.as_deref(), Some("Undone"));
    let twice = bot.answer_callback_query(CallbackQueryId(query)).await;
    assert!(
        matches!(twice, Err(RequestError::Api(ApiError::InvalidQueryId))),
        "{twice:?}"
    );

    bot.delete_message(ChatId(42), msg.id)
        .await
        .expect("deleteMessage");
    assert_eq!(double.deleted_messages(42), vec![msg.id.0 as i64]);
    let gone = bot.delete_message(ChatId(42), msg.id).await;
    assert!(
        matches!(
            gone,
            Err(RequestError::Api(ApiError::MessageToDeleteNotFound))
        ),
        "{gone:?}"
    );
    let edit_gone = bot.edit_message_text(ChatId(42), msg.id, "x").await;
    assert!(
        matches!(
            edit_gone,
            Err(RequestError::Api(ApiError::MessageToEditNotFound))
        ),
        "{edit_gone:?}"
    );

    bot.send_chat_action(ChatId(42), ChatAction::Typing)
        .await
        .expect("sendChatAction");
    bot.set_my_commands(vec![
        BotCommand::new("start", "Start"),
        BotCommand::new("orders", "My orders"),
    ])
    .await
    .expect("setMyCommands");
    let commands = bot.get_my_commands().await.expect("getMyCommands");
    assert_eq!(commands.len(), 2);
    assert_eq!(commands[1].command, "orders");
}

#[tokio::test]
async fn user_files_download_through_teloxide() {
    let double = start().await;
    let bot = bot(&double);
    let dave = double.user(5);
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 256) as u8).collect();
    dave.send_document("scan.bin", "application/octet-stream", bytes.clone(), None);
    dave.send_document_sized("huge.mkv", "video/x-matroska", 21 * 1024 * 1024, None);
    let updates = bot.get_updates().await.unwrap();
    let doc_of = |i: usize| match &updates[i].kind {
        UpdateKind::Message(m) => m.document().cloned().expect("document"),
        other => panic!("{other:?}"),
    };

    let small = doc_of(0);
    let file = bot.get_file(small.file.id.clone()).await.expect("getFile");
    assert_eq!(file.meta.size as usize, bytes.len());
    assert!(file.path.starts_with("documents/"), "{}", file.path);
    let mut downloaded = Vec::new();
    bot.download_file(&file.path, &mut downloaded)
        .await
        .expect("download");
    assert_eq!(Sha256::digest(&downloaded), Sha256::digest(&bytes));

    let huge = doc_of(1);
    assert_eq!(huge.file.size, 21 * 1024 * 1024);
    let too_big = bot.get_file(huge.file.id.clone()).await;
    match too_big {
        Err(RequestError::Api(ApiError::Unknown(text))) => {
            assert_eq!(text, "Bad Request: file is too big")
        }
        other => panic!("expected 'file is too big', got {other:?}"),
    }

    dave.remove_file(&small.file.id.0);
    match bot.get_file(small.file.id.clone()).await {
        Err(RequestError::Api(ApiError::Unknown(text))) => {
            assert_eq!(text, "Bad Request: invalid file_id")
        }
        other => panic!("expected 'invalid file_id', got {other:?}"),
    }
    let mut sink = Vec::new();
    assert!(
        bot.download_file(&file.path, &mut sink).await.is_err(),
        "a removed file is gone"
    );
}

#[tokio::test]
async fn bot_uploads_documents_and_photos() {
    let double = start_with(DoubleConfig {
        max_upload_bytes: 64 * 1024,
        max_photo_bytes: 16 * 1024,
        ..DoubleConfig::without_limits()
    })
    .await;
    let bot = bot(&double);
    double.user(9);
    let bytes = b"order,total\n1,9.99\n".to_vec();
    let msg = bot
        .send_document(
            ChatId(9),
            InputFile::memory(bytes.clone()).file_name("orders.csv"),
        )
        .caption("Your export")
        .await
        .expect("sendDocument");
    let doc = msg.document().expect("document in answer");
    assert_eq!(doc.file_name.as_deref(), Some("orders.csv"));
    assert_eq!(doc.file.size as usize, bytes.len());

    // Re-sending by file_id needs no upload.
    bot.send_document(ChatId(9), InputFile::file_id(doc.file.id.clone()))
        .await
        .expect("by file_id");
    let sent = double.messages_to(9);
    let first = sent[0].document.clone().expect("recorded");
    assert_eq!(first.file_name, "orders.csv");
    assert_eq!(first.sha256_hex, hex::encode(Sha256::digest(&bytes)));
    assert_eq!(sent[1].document, Some(first));
    assert_eq!(sent[0].body(), "Your export");

    let photo = bot
        .send_photo(
            ChatId(9),
            InputFile::memory(vec![0xFF, 0xD8, 0xFF, 9, 9]).file_name("p.jpg"),
        )
        .await
        .expect("sendPhoto");
    assert_eq!(photo.photo().map(<[_]>::len), Some(2));
    assert!(double.messages_to(9)[2].photo);

    let too_large = bot
        .send_document(
            ChatId(9),
            InputFile::memory(vec![1u8; 65 * 1024]).file_name("big.bin"),
        )
        .await;
    assert!(
        matches!(
            too_large,
            Err(RequestError::Api(ApiError::RequestEntityTooLarge))
        ),
        "{too_large:?}"
    );
    let big_photo = bot
        .send_photo(
            ChatId(9),
            InputFile::memory(vec![1u8; 20 * 1024]).file_name("big.jpg"),
        )
        .await;
    assert!(
        matches!(big_photo, Err(RequestError::Api(ApiError::Unknown(_)))),
        "{big_photo:?}"
    );
    assert_eq!(double.messages_to(9).len(), 3);
}

#[tokio::test]
async fn flood_limits_surface_as_retry_after() {
    let double = start().await;
    let bot = bot(&double);
    double.user(11);
    for i in 0..3 {
        bot.send_message(ChatId(11), format!("burst {i}"))
            .await
            .expect("within the burst");
    }
    match bot.send_message(ChatId(11), "one too many").await {
        Err(RequestError::RetryAfter(secs)) => assert_eq!(secs.seconds(), 1),
        other => panic!("expected RetryAfter, got {other:?}"),
    }
    // Edits count against the same bucket.
    let first = double.messages_to(11)[0].message_id;
    let edit = bot
        .edit_message_text(ChatId(11), MessageId(first as i32), "edited")
        .await;
    assert!(matches!(edit, Err(RequestError::RetryAfter(_))), "{edit:?}");

    double.set_fault(Fault::TooManyRequests {
        remaining: 1,
        retry_after: 7,
    });
    double.user(12);
    match bot.send_message(ChatId(12), "fault").await {
        Err(RequestError::RetryAfter(secs)) => assert_eq!(secs.seconds(), 7),
        other => panic!("expected RetryAfter(7), got {other:?}"),
    }
    bot.send_message(ChatId(12), "fault over")
        .await
        .expect("the fault was used up");

    let stats = double.stats();
    assert_eq!(stats.too_many_requests, 3);
    assert_eq!(stats.sent_ok, 4);
    assert_eq!(stats.max_sends_in_window(11, Duration::from_secs(1)), 3);
}

#[tokio::test]
async fn teloxide_throttle_stays_under_the_limits() {
    let double = start().await;
    let bot = bot(&double).throttle(teloxide::adaptors::throttle::Limits::default());
    double.user(13);
    for i in 0..4 {
        bot.send_message(ChatId(13), format!("throttled {i}"))
            .await
            .expect("throttle avoids 429");
    }
    assert_eq!(double.stats().too_many_requests, 0);
    assert_eq!(double.messages_to(13).len(), 4);
}

#[tokio::test]
async fn errors_map_to_teloxide_api_errors() {
    let double = start().await;
    let bot = bot(&double);
    let erin = double.user(21);

    let unknown = bot.send_message(ChatId(999), "hello?").await;
    assert!(
        matches!(unknown, Err(RequestError::Api(ApiError::ChatNotFound))),
        "{unknown:?}"
    );

    let empty = bot.send_message(ChatId(21), "  ").await;
    assert!(
        matches!(empty, Err(RequestError::Api(ApiError::MessageTextIsEmpty))),
        "{empty:?}"
    );
    let long = bot.send_message(ChatId(21), "é".repeat(4097)).await;
    assert!(
        matches!(long, Err(RequestError::Api(ApiError::MessageIsTooLong))),
        "{long:?}"
    );
    bot.send_message(ChatId(21), "é".repeat(4096))
        .await
        .expect("4096 characters fit");

    erin.block_bot();
    let blocked = bot.send_message(ChatId(21), "still there?").await;
    assert!(
        matches!(blocked, Err(RequestError::Api(ApiError::BotBlocked))),
        "{blocked:?}"
    );
    erin.unblock_bot();
    bot.send_message(ChatId(21), "welcome back")
        .await
        .expect("unblocked");

    let wrong_token = Bot::new("654321:WRONG")
        .set_api_url(double.api_url().parse().unwrap())
        .get_me()
        .await;
    assert!(
        matches!(wrong_token, Err(RequestError::Api(ApiError::InvalidToken))),
        "{wrong_token:?}"
    );

    let stats = double.stats();
    assert_eq!(stats.forbidden, 1);
    assert_eq!(stats.bad_requests, 3);
}

#[tokio::test]
async fn a_newer_get_updates_terminates_the_waiting_one() {
    let double = start().await;
    let bot = bot(&double);
    let first = tokio::spawn({
        let bot = bot.clone();
        async move { bot.get_updates().timeout(10).await }
    });
    // Wait until the first poll is parked before starting the second.
    within("first poll parked", async {
        while double.stats().calls_of("getUpdates") < 1 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let second = tokio::spawn({
        let bot = bot.clone();
        async move { bot.get_updates().timeout(2).await }
    });
    let first = within("first poll ends", first).await.unwrap();
    assert!(
        matches!(
            first,
            Err(RequestError::Api(ApiError::TerminatedByOtherGetUpdates))
        ),
        "{first:?}"
    );
    double.user(3).send_text("for the second poll");
    let second = within("second poll ends", second)
        .await
        .unwrap()
        .expect("the newer poll wins");
    assert_eq!(second.len(), 1);
}

#[tokio::test]
async fn webhook_mode_through_teloxide() {
    let double = start().await;
    let bot = bot(&double);
    bot.set_webhook("http://127.0.0.1:9/hook".parse().unwrap())
        .secret_token("s3cret-token")
        .await
        .expect("setWebhook");
    assert_eq!(
        double.webhook(),
        Some((
            "http://127.0.0.1:9/hook".into(),
            Some("s3cret-token".into())
        ))
    );
    let info = bot.get_webhook_info().await.expect("getWebhookInfo");
    assert_eq!(
        info.url.as_ref().map(|u| u.as_str()),
        Some("http://127.0.0.1:9/hook")
    );

    let polled = bot.get_updates().await;
    match polled {
        Err(RequestError::Api(ApiError::Unknown(text))) => {
            assert!(
                text.starts_with("Conflict: can't use getUpdates method while webhook is active"),
                "{text}"
            )
        }
        other => panic!("expected a webhook conflict, got {other:?}"),
    }
    bot.delete_webhook().await.expect("deleteWebhook");
    assert_eq!(double.webhook(), None);
    let info = bot.get_webhook_info().await.expect("getWebhookInfo");
    assert!(info.url.is_none());
}

/// A whole teloxide bot — Dispatcher, long polling, handlers — against the double.
#[tokio::test]
async fn teloxide_dispatcher_round_trip() {
    let double = start().await;
    let bot = bot(&double);
    let handler = dptree::entry()
        .branch(
            Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
                let keyboard =
                    InlineKeyboardMarkup::new(vec![vec![InlineKeyboardButton::callback(
                        "Orders", "orders",
                    )]]);
                bot.send_message(
                    msg.chat.id,
                    format!("echo: {}", msg.text().unwrap_or_default()),
                )
                .reply_markup(keyboard)
                .await?;
                respond(())
            }),
        )
        .branch(Update::filter_callback_query().endpoint(
            |bot: Bot, q: CallbackQuery| async move {
                bot.answer_callback_query(q.id.clone()).text("ok").await?;
                if let Some(msg) = q.regular_message() {
                    bot.edit_message_text(
                        msg.chat.id,
                        msg.id,
                        format!("chose {}", q.data.unwrap_or_default()),
                    )
                    .await?;
                }
                respond(())
            },
        ));
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler).build();
    let listener = teloxide::update_listeners::Polling::builder(bot.clone())
        .timeout(Duration::from_secs(2))
        .build();
    let task = tokio::spawn(async move {
        dispatcher
            .dispatch_with_listener(
                listener,
                LoggingErrorHandler::with_custom_text("dispatcher"),
            )
            .await
    });

    let frank = double.user(77);
    frank.send_text("hello");
    let reply = double
        .wait_for_message(77, WAIT, |m| m.body() == "echo: hello")
        .await
        .unwrap();
    let query = frank.press_button(reply.message_id, "orders");
    double.wait_for_callback_answer(&query, WAIT).await.unwrap();
    double
        .wait_for_message(77, WAIT, |m| m.edited && m.body() == "chose orders")
        .await
        .unwrap();
    within(
        "updates confirmed",
        double.wait_for_no_pending_updates(WAIT),
    )
    .await
    .unwrap();
    task.abort();
}

/// teloxide's own webhook listener (axum) as the receiving end: proves the
/// pushed JSON and the secret header are what teloxide expects.
#[tokio::test]
async fn teloxide_webhook_listener_round_trip() {
    let double = start().await;
    let bot = bot(&double);
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let url = format!("http://127.0.0.1:{port}/webhook").parse().unwrap();
    let options = teloxide::update_listeners::webhooks::Options::new(addr, url)
        .secret_token("hook-secret".into());
    let listener = teloxide::update_listeners::webhooks::axum(bot.clone(), options)
        .await
        .expect("webhook listener");
    assert_eq!(
        double.webhook().and_then(|(_, s)| s).as_deref(),
        Some("hook-secret")
    );

    let handler = Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
        bot.send_message(
            msg.chat.id,
            format!("via webhook: {}", msg.text().unwrap_or_default()),
        )
        .await?;
        respond(())
    });
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler).build();
    let task = tokio::spawn(async move {
        dispatcher
            .dispatch_with_listener(listener, LoggingErrorHandler::new())
            .await
    });
    double.user(88).send_text("hi");
    double
        .wait_for_message(88, WAIT, |m| m.body() == "via webhook: hi")
        .await
        .unwrap();
    within("delivered", double.wait_for_no_pending_updates(WAIT))
        .await
        .unwrap();
    task.abort();
}
