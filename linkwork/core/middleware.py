"""A page, in the site's layout, for a request a page answers only by form."""

from django.template.loader import render_to_string


class MethodNotAllowedPage:
    """A bare 405 (a form's address opened as a link, or reached again after signing in)
    gets a page that says what happened and where to go, instead of an empty one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not response.content and request.method == "GET":
            response.content = render_to_string("405.html", request=request)
            response["Content-Type"] = "text/html; charset=utf-8"
        return response
