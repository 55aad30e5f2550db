"""The marketers' web workspace at /studio: server-rendered pages behind a sign-in.

How to add a page (e.g. bot/studio/pages/inbox.py):

    from starlette.responses import Response
    from bot.studio.web import Page, get, post

    def inbox(page: Page) -> Response:                    # GET: any signed-in viewer
        with page.studio.uow() as uow:                     # sync handlers run in a thread
            items = ...                                    # call the service, not SQL here
        return page.render("inbox.html", items=items)

    def map_answer(page: Page) -> Response:                # POST: marketers and admins
        option = page.field("option")                      # form fields, CSRF already checked
        ...
        record_audit(uow, actor=page.user.email, action="...", subject="...",
                     at=page.studio.now())                 # storage.audit, same transaction
        return page.redirect("/inbox")                     # 303 to /studio/inbox

    ROUTES = [get("/inbox", inbox), post("/inbox/map", map_answer, role="marketer")]

then add `inbox.ROUTES` to `PAGE_ROUTES` in bot/studio/app.py. A template extends
"base.html" and fills `{% block title %}` and `{% block main %}`; it gets `user`,
`csrf_token`, `nav`, `prefix` ("/studio") and `static`. Every form that POSTs carries
`<input type="hidden" name="csrf_token" value="{{ csrf_token }}">`; htmx requests send
the token as a header from the layout. Async handlers (`async def`) work too.

What protects a page (do not re-implement it in a page):
- `bot.studio.guard.StudioGuard` (middleware of the /studio mount): no session → 302 to
  the sign-in page (401 for POST/htmx); POST without the session's CSRF token → 403.
- `bot.studio.web.get/post(..., role=)`: a role below `role` → 403 ("viewer" reads,
  "marketer" edits and publishes, "admin" manages users); `Page.allowed(role)` for parts
  of a page; `bot.studio.roles.sees_contact_details(role)` hides prospects' contacts.
- Templates autoescape: a prospect's words are shown as text. Never mark them `|safe`.
- tests/test_studio_security.py enumerates every route of the mount: a new page is
  covered by the session, CSRF and role tests without adding anything.
- Browser tests: tests/studio_browser.py has the server + signed-in Chromium fixtures.
"""
