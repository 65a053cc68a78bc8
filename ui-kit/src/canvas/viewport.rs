//! The canvas viewport: which part of the world the screen shows. `screen = world × zoom + pan`;
//! zooming keeps the point under the cursor still, and zoom stays within [`MIN_ZOOM`, `MAX_ZOOM`].

use super::geometry::{Point, Rect};

/// The furthest the canvas zooms out.
pub const MIN_ZOOM: f64 = 0.2;
/// The furthest the canvas zooms in.
pub const MAX_ZOOM: f64 = 2.5;

/// Pan (in screen pixels) and zoom of the canvas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    /// Where the world origin appears on the screen.
    pub pan: Point,
    pub zoom: f64,
}

impl Default for Viewport {
    fn default() -> Self {
        Self { pan: Point::new(0.0, 0.0), zoom: 1.0 }
    }
}

impl Viewport {
    /// Where a world point appears on the screen.
    pub fn to_screen(&self, world: Point) -> Point {
        Point::new(world.x * self.zoom + self.pan.x, world.y * self.zoom + self.pan.y)
    }

    /// Which world point is under a screen point.
    pub fn to_world(&self, screen: Point) -> Point {
        Point::new((screen.x - self.pan.x) / self.zoom, (screen.y - self.pan.y) / self.zoom)
    }

    /// A screen distance in world units (hit tolerances are given in pixels).
    pub fn world_len(&self, screen_len: f64) -> f64 {
        screen_len / self.zoom
    }

    /// Moves the world by a screen delta (a drag of the background).
    pub fn pan_by(&mut self, dx: f64, dy: f64) {
        if dx.is_finite() && dy.is_finite() {
            self.pan.x += dx;
            self.pan.y += dy;
        }
    }

    /// Zooms by `factor` keeping the world point under `screen` where it is.
    pub fn zoom_at(&mut self, screen: Point, factor: f64) {
        if !(factor.is_finite() && factor > 0.0 && screen.x.is_finite() && screen.y.is_finite()) {
            return;
        }
        let anchor = self.to_world(screen);
        self.zoom = (self.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
        self.pan = Point::new(screen.x - anchor.x * self.zoom, screen.y - anchor.y * self.zoom);
    }

    /// The world rectangle a screen of this size shows.
    pub fn visible_world(&self, screen_width: f64, screen_height: f64) -> Rect {
        let top_left = self.to_world(Point::new(0.0, 0.0));
        Rect::new(top_left.x, top_left.y, screen_width / self.zoom, screen_height / self.zoom)
    }

    /// The viewport that shows all of `bounds` centred on a screen of this size, with `margin`
    /// pixels around it, never zoomed in past 1.
    pub fn fit(bounds: Rect, screen_width: f64, screen_height: f64, margin: f64) -> Viewport {
        let usable_w = (screen_width - 2.0 * margin).max(1.0);
        let usable_h = (screen_height - 2.0 * margin).max(1.0);
        let zoom = (usable_w / bounds.width.max(1.0)).min(usable_h / bounds.height.max(1.0)).clamp(MIN_ZOOM, 1.0);
        let center = bounds.center();
        Viewport { zoom, pan: Point::new(screen_width / 2.0 - center.x * zoom, screen_height / 2.0 - center.y * zoom) }
    }

    /// The viewport that centres `world` on a screen of this size at the current zoom (a click on
    /// the minimap).
    pub fn centered_on(&self, world: Point, screen_width: f64, screen_height: f64) -> Viewport {
        Viewport {
            zoom: self.zoom,
            pan: Point::new(screen_width / 2.0 - world.x * self.zoom, screen_height / 2.0 - world.y * self.zoom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Point, b: Point) -> bool {
        a.distance(b) < 1e-9
    }

    #[test]
    fn screen_and_world_round_trip() {
        let v = Viewport { pan: Point::new(30.0, -12.0), zoom: 1.7 };
        let p = Point::new(123.0, 45.5);
        assert!(close(v.to_world(v.to_screen(p)), p));
        assert_eq!(v.world_len(17.0), 10.0);
    }

    #[test]
    fn zoom_keeps_the_cursor_point_still_and_clamps() {
        let mut v = Viewport::default();
        let cursor = Point::new(200.0, 150.0);
        let before = v.to_world(cursor);
        v.zoom_at(cursor, 1.5);
        assert_eq!(v.zoom, 1.5);
        assert!(close(v.to_world(cursor), before));
        v.zoom_at(cursor, 100.0);
        assert_eq!(v.zoom, MAX_ZOOM);
        assert!(close(v.to_world(cursor), before));
        v.zoom_at(cursor, 0.0001);
        assert_eq!(v.zoom, MIN_ZOOM);
        v.zoom_at(cursor, f64::NAN);
        assert_eq!(v.zoom, MIN_ZOOM);
    }

    #[test]
    fn pan_moves_the_visible_world() {
        let mut v = Viewport::default();
        v.pan_by(100.0, 50.0);
        assert_eq!(v.visible_world(800.0, 600.0), Rect::new(-100.0, -50.0, 800.0, 600.0));
        v.pan_by(f64::INFINITY, 0.0);
        assert_eq!(v.pan, Point::new(100.0, 50.0));
    }

    #[test]
    fn fit_shows_the_whole_graph_centred() {
        let bounds = Rect::new(0.0, 0.0, 2000.0, 500.0);
        let v = Viewport::fit(bounds, 1000.0, 800.0, 50.0);
        assert!((v.zoom - 0.45).abs() < 1e-9);
        let visible = v.visible_world(1000.0, 800.0);
        assert!(visible.contains(Point::new(0.0, 0.0)) && visible.contains(Point::new(2000.0, 500.0)));
        assert!(close(v.to_screen(bounds.center()), Point::new(500.0, 400.0)));
        // a small graph is not blown up
        assert_eq!(Viewport::fit(Rect::new(0.0, 0.0, 10.0, 10.0), 1000.0, 800.0, 50.0).zoom, 1.0);
        let centred = v.centered_on(Point::new(10.0, 10.0), 1000.0, 800.0);
        assert!(close(centred.to_screen(Point::new(10.0, 10.0)), Point::new(500.0, 400.0)));
    }
}
