# The Debian package: `cpack -G DEB` in a build tree (scripts/package.sh
# makes one from a release build, and CI installs and checks it with
# packaging/test-deb.sh).
#
# It holds the binary in /usr/bin, /etc/backfilld/backfilld.ini and
# /etc/default/backfilld as conffiles, a hardened systemd unit, the alert
# rules (and the Grafana dashboard when there is one) in
# /usr/share/backfilld, and maintainer scripts that create the `backfilld`
# system user and enable the unit without starting it.

set(BACKFILLD_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)

# Absolute destinations: /etc and /lib are not under the /usr prefix.
install(FILES ${BACKFILLD_PACKAGING_DIR}/backfilld.service
        DESTINATION /lib/systemd/system)
# Environment for the unit; may hold PGPASSWORD, so root's only.
install(FILES ${BACKFILLD_PACKAGING_DIR}/debian/default
        DESTINATION /etc/default RENAME backfilld
        PERMISSIONS OWNER_READ OWNER_WRITE)
install(FILES configs/alerts.yml
        DESTINATION share/backfilld)
# The dashboard comes with the metrics; package it once it exists.
if(EXISTS ${PROJECT_SOURCE_DIR}/configs/grafana-dashboard.json)
  install(FILES configs/grafana-dashboard.json DESTINATION share/backfilld)
endif()
install(FILES README.md DESTINATION share/doc/backfilld)

set(CPACK_PACKAGE_NAME backfilld)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "backfilld developers <dev@backfilld>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "keeps a portfolio tracker's price history complete")
set(CPACK_PACKAGE_DESCRIPTION
    "backfilld listens for new transactions in a portfolio tracker's\n\
PostgreSQL database and backfills each new asset's daily price history\n\
from Yahoo Finance, without losing work when the provider, the database\n\
or the daemon fails. It serves Prometheus metrics and health endpoints.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries' packages, found by dpkg-shlibdeps (dpkg-dev).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# What the binary needs besides its libraries: TLS roots for Yahoo, the
# time-zone database for dating bars; the postinst's tools.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "ca-certificates, tzdata, adduser, init-system-helpers (>= 1.52)")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql, prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${BACKFILLD_PACKAGING_DIR}/debian/conffiles
    ${BACKFILLD_PACKAGING_DIR}/debian/postinst
    ${BACKFILLD_PACKAGING_DIR}/debian/prerm
    ${BACKFILLD_PACKAGING_DIR}/debian/postrm)
# Maintainer scripts 0755 and conffiles 0644, whatever the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
