#!/usr/bin/env bash
# Interface strings (Flask-Babel). Spanish and English catalogues live in
# dashboard/translations/<locale>/LC_MESSAGES/messages.po; the .mo files are built.
#   scripts/i18n.sh compile   # build the .mo files (the app shows msgids without them)
#   scripts/i18n.sh extract   # collect new strings into messages.pot and both .po files;
#                             # then write the new msgstr (es and en) and compile
set -euo pipefail
cd "$(dirname "$0")/.."
dir=dashboard/translations
case "${1:-compile}" in
  extract)
    pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --sort-output \
      --project "Plenary Live" --copyright-holder "Plenary Live" -o "$dir/messages.pot" .
    pybabel update -i "$dir/messages.pot" -d "$dir" --ignore-obsolete
    ;;
  compile)
    pybabel compile -d "$dir" --statistics
    ;;
  *)
    echo "usage: $0 [compile|extract]" >&2
    exit 2
    ;;
esac
