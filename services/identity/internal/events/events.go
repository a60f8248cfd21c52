// Package events is the identity service's event adapter: it turns the
// application's announcements into outbox messages. Identity consumes no
// events yet; consent decisions (unlink, shred) arrive with the vault.
package events

import (
	"context"

	"gorm.io/gorm"

	libevents "poet.local/libs/events"
	"poet.local/services/identity/internal/app"
	"poet.local/services/identity/internal/store"
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
