# launch-fixture.sh is sourced by the launch benchmarks (bench-launch.sh,
# bench-cluster.sh). With IMGWARD_URL and an admin's IMGWARD_TOKEN set:
#
#   fixture_tenant BIN NAME          creates project NAME and its user; prints the user's token
#   fixture_image BIN DIR TOKEN      creates and uploads an image as TOKEN's user; prints its id
#   fixture_lua IMAGE TOKEN FILE     writes FILE: the wrk script of one launch of IMAGE by TOKEN
#   launch_fixture BIN DIR           a project, its user and an active image, and DIR/post.lua
_fixture_json() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

fixture_tenant() {
	_project=$("$1" project create "$2" -o json | _fixture_json id)
	"$1" user create "$2" --project "$_project" -o json 2>/dev/null | _fixture_json token
}

fixture_image() {
	echo disk >"$2/disk.img"
	_image=$(IMGWARD_TOKEN=$3 "$1" image create bench --disk-format raw --container-format bare -o json | _fixture_json id)
	IMGWARD_TOKEN=$3 "$1" image upload "$_image" "$2/disk.img" >/dev/null
	echo "$_image"
}

fixture_lua() {
	cat >"$3" <<LUA
wrk.method = "POST"
wrk.body = '{"image_id":"$1","host":"hv-1"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Auth-Token"] = "$2"
LUA
}

launch_fixture() {
	_token=$(fixture_tenant "$1" bench)
	fixture_lua "$(fixture_image "$1" "$2" "$_token")" "$_token" "$2/post.lua"
}
