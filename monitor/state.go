package monitor

import (
	"context"

	"imgward"
	"imgward/errors"
	"imgward/fleet"
)

// ImageState returns the unified state of an image, for its owner or an
// admin. An image without tracked instances has an empty state.
func (s *Service) ImageState(ctx context.Context, p imgward.Principal, id imgward.ImageID) (fleet.State, error) {
	const op = "monitor.ImageState"
	var img *imgward.Image
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		img, err = tx.Image(ctx, id)
		return err
	})
	if errors.Is(errors.NotExist, err) {
		return fleet.State{}, errors.E(op, errors.NotExist, errors.Msg("no such image"))
	} else if err != nil {
		return fleet.State{}, errors.E(op, err)
	}
	if !p.IsAdmin() && img.Owner != p.ProjectID {
		return fleet.State{}, s.deny(ctx, p, "state.read", "image/"+string(id), "not the owner",
			errors.E(op, errors.Permission, errors.Msg("only the image's owner or an admin may read its state")))
	}
	st, ok := s.fleet.Image(string(id))
	if !ok {
		st = fleet.State{ID: string(id)}
	}
	return st, nil
}

// PublisherState returns the unified state of a publisher, for the
// publisher's own project or an admin.
func (s *Service) PublisherState(ctx context.Context, p imgward.Principal, id imgward.ProjectID) (fleet.State, error) {
	const op = "monitor.PublisherState"
	if !p.IsAdmin() && id != p.ProjectID {
		return fleet.State{}, s.deny(ctx, p, "state.read", "publisher/"+string(id), "not the publisher",
			errors.E(op, errors.Permission, errors.Msg("only the publisher or an admin may read its state")))
	}
	if err := s.projectExists(ctx, op, id); err != nil {
		return fleet.State{}, err
	}
	st, ok := s.fleet.Publisher(string(id))
	if !ok {
		st = fleet.State{ID: string(id)}
	}
	return st, nil
}

func (s *Service) projectExists(ctx context.Context, op string, id imgward.ProjectID) error {
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		_, err := tx.Project(ctx, id)
		return err
	})
	if errors.Is(errors.NotExist, err) {
		return errors.E(op, errors.NotExist, errors.Msg("no such project"))
	} else if err != nil {
		return errors.E(op, err)
	}
	return nil
}

// Events lists events after an id: the caller's project's, or, for an
// admin, every project's (or one's, when project is set).
func (s *Service) Events(ctx context.Context, p imgward.Principal, project imgward.ProjectID, after int64, limit int) ([]imgward.Event, error) {
	const op = "monitor.Events"
	if !p.IsAdmin() {
		project = p.ProjectID
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	var es []imgward.Event
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		es, err = tx.ListEvents(ctx, project, after, limit)
		return err
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return es, nil
}
