"""Names shared by the engagement modules: answer kinds, report kinds, timeline kinds."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

POLL, QUESTION, SURVEY = "poll", "question", "survey"
ANSWER_KINDS = (POLL, QUESTION, SURVEY)
# Reports pulled per occurrence (one digest each), and recording views per recording.
REPORT_POLLS, REPORT_QA, REPORT_SURVEY, REPORT_VIEWS = "polls", "qa", "survey", "views"
ANSWER_KIND_OF_REPORT = {REPORT_POLLS: POLL, REPORT_QA: QUESTION, REPORT_SURVEY: SURVEY}

POLL_ANSWERED = "zoom_webinar_poll_answered"
QUESTION_ASKED = "zoom_webinar_question_asked"
SURVEY_ANSWERED = "zoom_webinar_survey_answered"
RECORDING_VIEWED = "zoom_recording_viewed"
TIMELINE_KIND_OF = {POLL: POLL_ANSWERED, QUESTION: QUESTION_ASKED, SURVEY: SURVEY_ANSWERED}
TIMELINE_KINDS = {
    POLL_ANSWERED: _("Answered a Zoom webinar poll"),
    QUESTION_ASKED: _("Asked a question in a Zoom webinar"),
    SURVEY_ANSWERED: _("Answered a Zoom webinar survey"),
    RECORDING_VIEWED: _("Watched a Zoom webinar recording"),
}
