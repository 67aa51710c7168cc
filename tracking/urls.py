from django.urls import path, register_converter

from tracking import pregnancy_views, views


class DayConverter:
    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class EntryIdConverter:
    regex = r"[0-9A-Za-z]{1,40}"

    def to_python(self, value: str) -> str:
        return value.upper()

    def to_url(self, value: str) -> str:
        return value


register_converter(DayConverter, "day")
register_converter(EntryIdConverter, "entry")

W = "womens-health/"

urlpatterns = [
    path(f"{W}verification/", views.VerificationView.as_view(), name="wh-verification"),
    path(f"{W}verification/verify/", views.VerificationVerifyView.as_view(), name="wh-verification-verify"),
    path(f"{W}dashboard/", views.DashboardView.as_view(), name="wh-dashboard"),
    path(f"{W}profile/", views.ProfileView.as_view(), name="wh-profile"),
    path(f"{W}cycles/", views.CycleListView.as_view(), name="wh-cycles"),
    path(f"{W}cycles/<uuid:cycle_id>/", views.CycleDetailView.as_view(), name="wh-cycle"),
    path(f"{W}cycle-days/", views.CycleDayListView.as_view(), name="wh-cycle-days"),
    path(f"{W}cycle-days/<day:day>/", views.CycleDayDetailView.as_view(), name="wh-cycle-day"),
    path(f"{W}pregnancy/", pregnancy_views.PregnancyView.as_view(), name="wh-pregnancy"),
    path(f"{W}fertility/", views.FertilityView.as_view(), name="wh-fertility"),
    path(f"{W}goals/", views.GoalListView.as_view(), name="wh-goals"),
    path(f"{W}goals/<uuid:goal_id>/", views.GoalDetailView.as_view(), name="wh-goal"),
    path(f"{W}logs/", views.DailyLogView.as_view(), name="wh-logs"),
    path(f"{W}kick-sessions/", pregnancy_views.KickSessionListView.as_view(), name="wh-kick-sessions"),
    path(f"{W}kick-sessions/<entry:entry_id>/", pregnancy_views.KickSessionDetailView.as_view(), name="wh-kick-session"),
    path(f"{W}contractions/", pregnancy_views.ContractionListView.as_view(), name="wh-contractions"),
    path(f"{W}contractions/<entry:entry_id>/", pregnancy_views.ContractionDetailView.as_view(), name="wh-contraction"),
    path(f"{W}due-date/", pregnancy_views.DueDateView.as_view(), name="wh-due-date"),
    path(f"{W}birth-plan/", pregnancy_views.BirthPlanView.as_view(), name="wh-birth-plan"),
    path(f"{W}baby-names/favorites/", pregnancy_views.BabyNameFavoritesView.as_view(), name="wh-baby-name-favorites"),
    path(f"{W}baby-shower-checklist/", pregnancy_views.BabyShowerChecklistView.as_view(), name="wh-baby-shower-checklist"),
    path(f"{W}sync/", views.SyncView.as_view(), name="wh-sync"),
    path("search-history/", views.SearchHistoryView.as_view(), name="search-history"),
    path("search-history/trending/", views.SearchTrendingView.as_view(), name="search-history-trending"),
]
