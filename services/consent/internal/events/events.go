// Package events is the consent service's event adapter: it turns the
// application's announcements into outbox messages, and runs the sweep that
// announces consents lapsing at 18. Consent consumes no events: it is where
// decisions start.
package events

import (
	"context"

	"gorm.io/gorm"

	libevents "poet.local/libs/events"
	"poet.local/services/consent/internal/app"
	"poet.local/services/consent/internal/store"
)

// Publisher is how announcements reach the outbox (runtime.Publish).
type Publisher func(ctx context.Context, tx *gorm.DB, msgs ...libevents.Message) error

// Announcer adapts the application's announcements to the outbox.
func Announcer(publish Publisher) store.Announcer {
	return func(ctx context.Context, tx *gorm.DB, as ...app.Announcement) error {
		msgs := make([]libevents.Message, len(as))
		for i, a := range as {
			msgs[i] = libevents.Message{Topic: a.Topic, Key: a.Key, Type: a.Type, Subject: a.Subject, Payload: a.Payload}
		}
		return publish(ctx, tx, msgs...)
	}
}
