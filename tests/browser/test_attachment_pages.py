"""Files in the pages: attach, drop, see previews and cards, open the viewer."""

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.test_chat_pages import create_room, join_room

pytestmark = pytest.mark.e2e


def png(size=(120, 80)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def test_files_go_with_a_message_and_show_to_the_room(visitor):
    """Attach an image and a text file, send; both people see the preview and
    the card; the preview opens the viewer; a too-big type is refused."""
    alice = visitor("alice")
    bob = visitor("bob", locale="zh-CN")
    alice.sign_up()
    bob.sign_up()
    create_room(alice, "lobby")
    join_room(bob, "lobby")

    alice.page.locator("#attach-input").set_input_files(
        [
            {"name": "photo.png", "mimeType": "image/png", "buffer": png()},
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"x" * 2048},
        ]
    )
    tray = alice.page.locator("#attachment-tray")
    expect(tray.locator("li.ready")).to_have_count(2)
    expect(tray).to_contain_text("notes.txt")
    expect(tray).to_contain_text("2.0 KB")
    alice.send("two files")
    expect(tray.locator("li")).to_have_count(0)

    for person in (alice, bob):
        expect(person.message_with("two files")).to_have_count(1)
        message = person.page.locator("#messages li.message[data-id]").last
        preview = message.locator(".attachment-image img")
        expect(preview).to_have_attribute("alt", "photo.png")
        expect(preview).to_have_js_property("naturalWidth", 120)
        card = message.locator("a.attachment-file")
        expect(card).to_contain_text("notes.txt")
        expect(card).to_contain_text("2.0 KB")

    bob.page.locator("#messages .attachment-image").last.click()
    viewer = bob.page.locator("#image-viewer")
    expect(viewer).to_be_visible()
    expect(viewer.locator("img")).to_have_js_property("naturalWidth", 120)
    expect(viewer.locator("a.download")).to_have_text("下载 photo.png")
    bob.page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()

    # Only files: no text needed.
    alice.page.locator("#attach-input").set_input_files(
        [{"name": "more.txt", "mimeType": "text/plain", "buffer": b"more"}]
    )
    expect(tray.locator("li.ready")).to_have_count(1)
    alice.page.locator("#message-body").press("Enter")
    expect(
        bob.page.locator("#messages li.message[data-id] a.attachment-file")
    ).to_have_count(2)

    # A type the server refuses says why in the tray.
    alice.page.locator("#attach-input").set_input_files(
        [
            {
                "name": "tool.exe",
                "mimeType": "application/octet-stream",
                "buffer": b"MZ" + b"\x00" * 300,
            }
        ]
    )
    expect(tray.locator("li.failed [role=alert]")).to_contain_text("cannot be uploaded")
    assert not alice.errors, alice.errors
    assert not bob.errors, bob.errors


def test_a_dropped_file_is_uploaded(visitor):
    """Files dropped on the conversation go to the tray like attached ones."""
    alice = visitor("alice")
    alice.sign_up()
    create_room(alice, "lobby")
    page = alice.page
    transfer = page.evaluate_handle(
        """() => {
            const transfer = new DataTransfer();
            transfer.items.add(new File(["dropped text"], "dropped.txt",
                                        {type: "text/plain"}));
            return transfer;
        }"""
    )
    page.dispatch_event("#message-body", "drop", {"dataTransfer": transfer})
    tray = page.locator("#attachment-tray")
    expect(tray.locator("li.ready")).to_have_count(1)
    expect(tray).to_contain_text("dropped.txt")


def test_a_pasted_image_is_uploaded(visitor):
    """An image pasted into the message box goes to the tray, with its size."""
    alice = visitor("alice")
    alice.sign_up()
    create_room(alice, "lobby")
    page = alice.page
    transfer = page.evaluate_handle(
        """() => {
            const transfer = new DataTransfer();
            const bytes = Uint8Array.from(atob(
                "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQ"
                + "DwAEhQGAhKmMIQAAAABJRU5ErkJggg=="), (c) => c.charCodeAt(0));
            transfer.items.add(new File([bytes], "pasted.png", {type: "image/png"}));
            return transfer;
        }"""
    )
    # As the browser fires it: a ClipboardEvent carrying the file.
    page.locator("#message-body").evaluate(
        """(box, transfer) => box.dispatchEvent(new ClipboardEvent("paste", {
            clipboardData: transfer, bubbles: true, cancelable: true}))""",
        transfer,
    )
    tray = page.locator("#attachment-tray")
    expect(tray.locator("li.ready")).to_have_count(1)
    expect(tray).to_contain_text("pasted.png")
    page.locator("#message-body").press("Enter")
    preview = page.locator("#messages li.message[data-id] .attachment-image img")
    expect(preview).to_have_js_property("naturalWidth", 1)
