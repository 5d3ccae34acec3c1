# launch-fixture.sh is sourced by the launch benchmarks (bench-launch.sh,
# bench-cluster.sh). launch_fixture BIN DIR, with IMGWARD_URL and an admin's
# IMGWARD_TOKEN set, creates a project, its user and an active image, and
# writes DIR/post.lua: the wrk script of one launch of that image by that
# user.
launch_fixture() {
	_bin=$1 _dir=$2
	_json() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
	_project=$("$_bin" project create bench -o json | _json id)
	_token=$("$_bin" user create bench --project "$_project" -o json 2>/dev/null | _json token)
	echo disk >"$_dir/disk.img"
	_image=$(IMGWARD_TOKEN=$_token "$_bin" image create bench --disk-format raw --container-format bare -o json | _json id)
	IMGWARD_TOKEN=$_token "$_bin" image upload "$_image" "$_dir/disk.img" >/dev/null
	cat >"$_dir/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"image_id":"$_image","host":"hv-1"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Auth-Token"] = "$_token"
LUA
}
