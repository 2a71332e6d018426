"""HTML views of the Zoom integration, one module per screen: Settings > Integrations >
Connected apps > Zoom, one connection per brand (rule A2), with the tabs Home and Global
settings (rules S1-S7) in `settings`; connecting and the Home tab's actions in `connect`; a
brand's sync runs and the page of one run (rule Z9) in `runs`; a Zoom user's side panel
(rule S6) in `users`; the webhook health card (rule B4) in `health`.

Everyone signed in may read these pages; only super admins change anything: every POST goes
through `settings_admin_required` (403 otherwise) and the templates show others disabled
inputs and no action buttons. Reads go through `zoom_integration.selectors`, words through
`zoom_integration.presentation`, writes through the services, which own validation."""
