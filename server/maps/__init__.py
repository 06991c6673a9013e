"""Map documents built with folium: pure builders (plain dicts and GeoJSON in, HTML out) that open
offline. No database, no HTTP: the services gather the data and the routes serve the result."""
