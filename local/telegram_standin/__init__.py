"""A local stand-in for the Telegram Bot API, spoken to over real HTTP.

Polybot's bot and Lambda functions talk to it exactly as to Telegram (or a
self-hosted Bot API server): `POLYBOT_TELEGRAM_API_URL` points at it. It
serves the methods Polybot uses and keeps Telegram's documented rules; it plays
the user's side of every chat; it fails as Telegram and its network do. Used by
the local run (`python -m local`), the local stack, the tests and the benchmarks,
all through `TelegramStandIn`, which composes one part per job:

- server.py: the HTTP side (the Bot API's URLs, parameters, the JSON envelope,
  401 for a wrong token) and the werkzeug server it runs in; `serve_as_minimal`
  makes it a minimal Bot API server that lacks the optional methods;
- methods.py: the Bot API methods, one function each (setWebhook refuses a
  host Telegram cannot resolve yet: `webhook_host_resolves_after`);
- rules.py: Telegram's limits and refusals, as pure functions (the 20 MB
  `getFile` limit; sendPhoto's 10 MB, width + height 10000 and ratio 20;
  50 MB uploads; 1024-character captions and 4096-character texts; media
  groups of 2 to 10; callback_data of 1 to 64 bytes; bot commands; ...);
- state.py: what Telegram keeps (the chats' messages as they show now, files,
  callback queries, languages, command menus) and the chat log;
- delivery.py: updates to the webhook (with the secret header, redelivery,
  round-robin over instances behind a load balancer) or to getUpdates;
- user.py: the simulated user (photos, albums, files, texts, button taps), and
  the members of groups and supergroups (replies, stickers, mentions), whose
  messages reach the bot as Telegram's group rules let them (rules.reaches_bot:
  privacy mode on by default, `bot_privacy(False)` as BotFather's /setprivacy,
  an admin bot gets everything; getChatMember answers each member's status);
- faults.py: injected failures (a Bot API error such as 429 with
  `parameters.retry_after`, an HTML error page from the front end, a dropped
  connection before or after the call took effect, a slow answer, any body
  with any status: `answer_next`);
- waiting.py: waiting for the bot's calls and replies.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from flask import Flask

from local.telegram_standin import waiting
from local.telegram_standin.delivery import Delivery
from local.telegram_standin.faults import Fault, Faults
from local.telegram_standin.methods import BotApiMethods
from local.telegram_standin.rules import CALLBACK_ANSWER_S, CLOSED_CHAT_STATES
from local.telegram_standin.server import MINIMAL_SERVER_LACKS, BotApiCall, BotApiServer
from local.telegram_standin.state import BOT_USER, CallbackQuery, ChatState, Group, SentMessage, StoredFile
from local.telegram_standin.user import ChatUser
from polybot.settings import TELEGRAM_DOWNLOAD_LIMIT_BYTES

__all__ = [
    "BOT_USER",
    "CALLBACK_ANSWER_S",
    "MINIMAL_SERVER_LACKS",
    "BotApiCall",
    "CallbackQuery",
    "Fault",
    "Group",
    "SentMessage",
    "StoredFile",
    "TelegramStandIn",
]


class TelegramStandIn:
    """The Bot API on a local port, the user in every chat, and the failures between."""

    def __init__(
        self,
        token: str,
        max_download_bytes: int = TELEGRAM_DOWNLOAD_LIMIT_BYTES,
        pending_texts: Collection[str] = (),
    ) -> None:
        """`pending_texts`: what the bot says while it works (its progress messages);
        `wait_for_reply` waits until a reply says something else."""
        self.token = token
        self.pending_texts = frozenset(pending_texts)
        self.state = ChatState()
        self.delivery = Delivery(self.state.changed)
        self.faults = Faults()
        self.methods = BotApiMethods(self.state, self.delivery, max_download_bytes)
        self.server = BotApiServer(token, self.methods, self.faults)
        self.user = ChatUser(self.state, self.delivery)
        # What callers read, by the names they know; the parts change these in place, never rebind them.
        self.sent: list[SentMessage] = self.state.sent
        self.chat_actions: list[tuple[int, str]] = self.state.chat_actions
        self.callbacks: dict[str, CallbackQuery] = self.state.callbacks
        self.languages: dict[int, str] = self.state.languages
        """The Telegram language of each chat's user (default "en")."""
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = self.state.commands
        """The bot's command menu by (scope type, language code); "" is every language."""
        self.instances: list[str] = self.delivery.instances
        """Other addresses that serve the webhook's address (see balance_across)."""
        self.deliveries: list[int] = self.delivery.deliveries
        self.deliveries_of: dict[int, list[int]] = self.delivery.deliveries_of
        """The webhook's answers to each message's update, by message id (redeliveries included)."""
        self.delivered_to: dict[int, list[str]] = self.delivery.delivered_to
        """Which webhook address each message's update was delivered to, by message id."""
        self.api_calls: list[BotApiCall] = self.server.calls
        """Every Bot API call, in order, with its parameters."""
        self.app: Flask = self.server.app

    # --- the server ----------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on `host` (all interfaces with "0.0.0.0", for containers); the
        URL returned is this machine's own."""
        return self.server.start(host, port)

    def stop(self) -> None:
        self.server.stop()

    @property
    def port(self) -> int:
        return self.server.port

    def serve_as_minimal(self, lacking: Collection[str] = MINIMAL_SERVER_LACKS) -> None:
        """Be a minimal Bot API server from now on (a third-party mock, an alternative
        server): `lacking` and every method the stand-in does not serve answer 404
        with a body without "ok", as its web framework answers an unknown address."""
        self.server.serve_as_minimal(frozenset(lacking))

    def serve_as_telegram(self) -> None:
        """Serve every method again, and answer unknown ones as Telegram does."""
        self.server.serve_as_telegram()

    @property
    def api_url(self) -> str:
        return self.server.api_url

    @property
    def calls(self) -> list[str]:
        """Every Bot API method called, in order."""
        return [call.method for call in self.api_calls]

    @property
    def max_download_bytes(self) -> int:
        return self.methods.max_download_bytes

    @property
    def set_commands_calls(self) -> int:
        return self.state.set_commands_calls

    # --- the webhook, as setWebhook left it (tests change it to play a misconfiguration) ---
    @property
    def webhook_url(self) -> str:
        return self.delivery.webhook.url

    @webhook_url.setter
    def webhook_url(self, url: str) -> None:
        self.delivery.webhook.url = url

    @property
    def webhook_secret(self) -> str:
        return self.delivery.webhook.secret

    @webhook_secret.setter
    def webhook_secret(self, secret: str) -> None:
        self.delivery.webhook.secret = secret

    @property
    def webhook_allowed_updates(self) -> list[str] | None:
        return self.delivery.webhook.allowed_updates

    @property
    def webhook_last_error(self) -> str:
        return self.delivery.webhook.last_error

    @webhook_last_error.setter
    def webhook_last_error(self, error: str) -> None:
        self.delivery.webhook.last_error = error

    @property
    def set_webhook_calls(self) -> int:
        return self.delivery.webhook.set_calls

    def webhook_host_resolves_after(self, host: str, tries: int) -> None:
        """Telegram cannot resolve `host` for the next `tries` setWebhook calls naming it
        (its DNS record is new, or its resolver still remembers the name missing): each
        answers 400 "Bad Request: bad webhook: Failed to resolve host: ..."; then it resolves."""
        with self.state.changed:
            self.methods.unresolved[host] = tries

    def balance_across(self, *addresses: str) -> None:
        """The webhook's address is served by these other bot instances too (full
        webhook URLs): deliveries go round-robin over the registered URL and them."""
        self.delivery.balance_across(*addresses)

    # --- updates -------------------------------------------------------------
    def deliver(self, message: dict[str, Any]) -> dict[str, Any]:
        """Deliver `message` in a new update: to the webhook if one is set (with
        Telegram's redelivery of a failed call), else to getUpdates. Delivering
        the same message twice is what Telegram does when a webhook is slow."""
        return self.delivery.deliver(message)

    def post_update(self, update: dict[str, Any]) -> int:
        """One delivery of `update` to the webhook, as Telegram makes it; its HTTP status."""
        return self.delivery.post_update(update)

    def new_update(self, message: dict[str, Any]) -> dict[str, Any]:
        """An update carrying `message`, with the next update id, not yet delivered."""
        return self.delivery.new_update(message)

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """The updates queued for getUpdates (no webhook), oldest first."""
        with self.state.changed:
            return list(self.delivery.pending)

    def take_updates(self) -> list[dict[str, Any]]:
        """Every queued update, taken out of the queue, for a test to hand to the bot itself."""
        return self.delivery.take_pending()

    # --- the user's side -----------------------------------------------------
    def add_file(self, data: bytes, extension: str = "jpg", file_id: str | None = None) -> StoredFile:
        """Store a file users can send; `file_id` names it as a sample event does."""
        return self.state.add_file(data, extension, file_id)

    def user_speaks(self, chat_id: int, language_code: str) -> None:
        """The chat's user has Telegram in this language from now on."""
        self.user.speaks(chat_id, language_code)

    def user_sends_photo(
        self,
        chat_id: int,
        image: bytes,
        caption: str | None = None,
        *,
        by: int | None = None,
        reply_to: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A photo; in a group, sent `by` a member, replying to `reply_to`, with the
        caption's `entities` (those Telegram finds in it when not given)."""
        return self.user.sends_photo(chat_id, image, caption, by=by, reply_to=reply_to, entities=entities)

    def user_sends_album(
        self,
        chat_id: int,
        images: list[bytes],
        *,
        at_once: bool = True,
        by: int | None = None,
        caption: str | None = None,
    ) -> list[dict[str, Any]]:
        """An album: one message per photo, sharing a media_group_id, each in its own
        update. `at_once`: delivered concurrently, as a client uploads an album and
        Telegram hands its updates to the webhook's connections. `caption`: on the
        first photo alone, as Telegram's clients send an album's caption."""
        return self.user.sends_album(chat_id, images, at_once=at_once, by=by, caption=caption)

    def user_sends_document(
        self,
        chat_id: int,
        data: bytes,
        file_name: str,
        mime_type: str | None,
        file_size: int | None = None,
        *,
        by: int | None = None,
    ) -> dict[str, Any]:
        """A file; `mime_type` None: the update has none (the client did not say)."""
        return self.user.sends_document(chat_id, data, file_name, mime_type, file_size, by=by)

    def user_sends_text(
        self,
        chat_id: int,
        text: str,
        *,
        by: int | None = None,
        reply_to: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        return self.user.sends_text(chat_id, text, by=by, reply_to=reply_to, entities=entities)

    def user_sends_sticker(self, chat_id: int, *, by: int | None = None, reply_to: int | None = None) -> dict[str, Any]:
        return self.user.sends_sticker(chat_id, by=by, reply_to=reply_to)

    # --- groups ------------------------------------------------------------------
    def group_opens(
        self,
        chat_id: int,
        members: dict[int, str],
        *,
        title: str = "Photos",
        kind: str = "supergroup",
        bot_status: str = "member",
        other_bots: tuple[str, ...] = (),
        names: dict[int, str] | None = None,
    ) -> Group:
        """A group (`kind` "group" or "supergroup") with the bot in it as `bot_status`,
        `members` (user id: status, one of rules.MEMBER_STATUSES) and `other_bots`
        (their usernames); `names`: members' first names. Its members send with `by=` their id."""
        return self.user.opens_group(
            chat_id, members, title=title, kind=kind, bot_status=bot_status, other_bots=other_bots, names=names
        )

    def bot_privacy(self, enabled: bool) -> None:
        """BotFather's /setprivacy: with privacy mode on (the default) the bot receives
        only the group messages meant for it (rules.reaches_bot); off, all of them.
        (Telegram applies a change to a group the bot is re-added to; here at once.)"""
        with self.state.change():
            self.state.privacy_mode = enabled

    def other_bot_says(self, chat_id: int, username: str, text: str) -> dict[str, Any]:
        """One of the group's other bots sends a text: the bot never receives it, and
        it is the last bot to have spoken (a bare /command is then the other's)."""
        return self.user.other_bot_says(chat_id, username, text)

    def user_taps(self, chat_id: int, message_id: int, button: str, *, by: int | None = None) -> CallbackQuery:
        """The user (in a group: the member `by`) presses the inline button whose text
        (or callback_data) is `button` on the bot's message `message_id`, as the chat shows it now."""
        return self.user.taps(chat_id, message_id, button, by=by)

    def chat_closes(self, chat_id: int, how: str) -> None:
        """From now on the chat takes no messages from the bot, and Telegram answers
        each call naming it as it does: "blocked" (its user blocked the bot, 403),
        "kicked" (its group removed the bot, 403), "muted" (its group took the bot's
        right to write, 400 "not enough rights to send ..."), "gone" (400 "chat not found")."""
        if how not in CLOSED_CHAT_STATES:
            raise ValueError(f"a chat closes as one of {CLOSED_CHAT_STATES}, not {how!r}")
        with self.state.change():
            self.methods.closed[chat_id] = how

    def user_deletes(self, chat_id: int, message_id: int) -> None:
        """The user deletes one of the bot's messages (for both sides, as a private chat allows)."""
        self.user.deletes(chat_id, message_id)

    def photo_message(self, chat_id: int, image: bytes) -> dict[str, Any]:
        """The message a user's photo arrives in, not yet delivered (see user_sends_photo)."""
        return self.user.photo_message(chat_id, image)

    # --- the chats -------------------------------------------------------------
    def message(self, chat_id: int, message_id: int) -> SentMessage:
        return self.state.message(chat_id, message_id)

    def replies_to(self, chat_id: int, message_id: int) -> list[SentMessage]:
        """The bot's messages in answer to `message_id` that the chat still shows."""
        return self.state.replies_to(chat_id, message_id)

    def transcript(self, chat_id: int) -> list[str]:
        """The conversation in chat `chat_id`, one line per thing the user or the bot did."""
        return self.state.transcript(chat_id)

    # --- waiting ---------------------------------------------------------------
    def settled(self, message: SentMessage) -> bool:
        """Whether a message says more than that the bot is working."""
        return waiting.settled(message, self.pending_texts)

    def wait_for(self, condition: Callable[[], Any], timeout: float = 60.0, what: str = "the condition") -> Any:
        """`condition()`'s first true value, re-checked whenever the bot calls the Bot API."""
        return waiting.wait_for(self.state.changed, condition, timeout, what)

    def wait_for_reply(self, chat_id: int, message_id: int, timeout: float = 60.0) -> SentMessage:
        """The bot's answer to `message_id` once it says more than "working on it"."""
        return waiting.wait_for_reply(self.state, self.pending_texts, chat_id, message_id, timeout)

    # --- faults ----------------------------------------------------------------
    def inject(self, method: str, fault: Fault) -> None:
        """The next `fault.times` calls of `method` ("file": downloads) meet `fault`."""
        self.faults.inject(method, fault)

    def fail_next(
        self, method: str, error_code: int, description: str, times: int = 1, retry_after: int | None = None
    ) -> None:
        """Answer the next `times` calls of `method` with this Bot API error."""
        self.inject(method, Fault("api_error", error_code, description, retry_after, times=times))

    def answer_next(
        self, method: str, status: int, body: str, content_type: str = "application/json", times: int = 1
    ) -> None:
        """Answer the next `times` calls of `method` with `body` as it stands (no Bot
        API envelope), before the call takes effect."""
        self.inject(method, Fault("raw", status, times=times, body=body, content_type=content_type))

    def clear_faults(self) -> None:
        """No call meets an injected fault any more (those left unmet are forgotten)."""
        self.faults.clear()
