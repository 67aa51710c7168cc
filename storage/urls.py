from django.urls import path

from storage import imaging_views, views

G = "clinical-guidelines/<str:guideline_id>/"

urlpatterns = [
    # Clinical guidelines (contract §6.1, G1–G17)
    path("clinical-guidelines/", views.GuidelineListView.as_view(), name="guideline-list"),
    path("clinical-guidelines/upload/", views.GuidelineUploadView.as_view(), name="guideline-upload"),
    path("clinical-guidelines/my_bookmarks/", views.MyBookmarksView.as_view(), name="guideline-my-bookmarks"),
    path("clinical-guidelines/categories/", views.GuidelineCategoriesView.as_view(), name="guideline-categories"),
    path("clinical-guidelines/stats/", views.GuidelineStatsView.as_view(), name="guideline-stats"),
    path(G, views.GuidelineDetailView.as_view(), name="guideline-detail"),
    path(G + "update-file/", views.GuidelineFileView.as_view(), name="guideline-update-file"),
    path(G + "versions/", views.GuidelineVersionsView.as_view(), name="guideline-versions"),
    path(G + "approve/", views.GuidelineApproveView.as_view(), name="guideline-approve"),
    path(G + "publish/", views.GuidelinePublishView.as_view(), name="guideline-publish"),
    path(G + "download/", views.GuidelineDownloadView.as_view(), name="guideline-download"),
    path(G + "bookmark/", views.GuidelineBookmarkView.as_view(), name="guideline-bookmark"),
    path("guideline-access/", views.GuidelineAccessLogView.as_view(), name="guideline-access"),
    path("guideline-bookmarks/", views.GuidelineBookmarkListView.as_view(), name="guideline-bookmarks"),
    # Prescription documents
    path("prescriptions/<uuid:prescription_id>/document/", views.PrescriptionDocumentView.as_view(),
         name="prescription-document"),
    # Medical imaging
    path("imaging/studies/", imaging_views.ImagingStudyListView.as_view(), name="imaging-studies"),
    path("imaging/studies/<uuid:study_id>/", imaging_views.ImagingStudyDetailView.as_view(), name="imaging-study"),
    path("imaging/studies/<uuid:study_id>/complete/", imaging_views.ImagingStudyCompleteView.as_view(),
         name="imaging-study-complete"),
    path("imaging/studies/<uuid:study_id>/download/", imaging_views.ImagingStudyDownloadView.as_view(),
         name="imaging-study-download"),
]
