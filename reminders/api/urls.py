from rest_framework.routers import SimpleRouter

from reminders.api import views

router = SimpleRouter()
router.register("reminders/templates", views.ReminderTemplateViewSet, basename="reminder-template")
router.register("reminders/rules", views.ReminderRuleViewSet, basename="reminder-rule")
router.register("reminders/messages", views.ReminderMessageViewSet, basename="reminder-message")
router.register("reminders/pendings", views.ReminderPendingViewSet, basename="reminder-pending")

urlpatterns = router.urls
