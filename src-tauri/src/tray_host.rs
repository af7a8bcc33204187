//! Whether a tray host is there to show the icon. On Linux the tray library
//! uses a StatusNotifierItem host (on the session bus) or, failing that, an
//! XEmbed system tray (an X selection owner); with neither the icon is
//! invisible, so the shell opens the window instead. Elsewhere the
//! platform always has one.

/// Whether a tray host is present.
#[cfg(target_os = "linux")]
pub fn present() -> bool {
    status_notifier_watcher() || xembed_tray()
}

/// Whether a tray host is present.
#[cfg(not(target_os = "linux"))]
pub fn present() -> bool {
    true
}

#[cfg(target_os = "linux")]
fn status_notifier_watcher() -> bool {
    let Ok(bus) = zbus::blocking::Connection::session() else {
        return false;
    };
    let Ok(dbus) = zbus::blocking::fdo::DBusProxy::new(&bus) else {
        return false;
    };
    [
        "org.kde.StatusNotifierWatcher",
        "org.freedesktop.StatusNotifierWatcher",
    ]
    .iter()
    .any(|name| {
        zbus::names::BusName::try_from(*name)
            .ok()
            .and_then(|n| dbus.name_has_owner(n).ok())
            .unwrap_or(false)
    })
}

#[cfg(target_os = "linux")]
fn xembed_tray() -> bool {
    let Ok(xlib) = x11_dl::xlib::Xlib::open() else {
        return false;
    };
    // SAFETY: plain Xlib calls on a display we open and close here; the atom
    // name is a NUL-terminated literal.
    unsafe {
        let display = (xlib.XOpenDisplay)(std::ptr::null());
        if display.is_null() {
            return false;
        }
        let screen = (xlib.XDefaultScreen)(display);
        let name = format!("_NET_SYSTEM_TRAY_S{screen}\0");
        let atom = (xlib.XInternAtom)(display, name.as_ptr().cast(), 0);
        let owner = (xlib.XGetSelectionOwner)(display, atom);
        (xlib.XCloseDisplay)(display);
        owner != 0
    }
}
