"""ACLED export rows as the tests write them."""

from __future__ import annotations

ACLED_HEADER = ("event_id_cnty,event_date,year,time_precision,disorder_type,event_type,"
                "sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,"
                "interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,"
                "latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,"
                "timestamp")


def acled_row(eid: str, date: str, location: str, lat: str, lon: str, geo: str = "1",
               fatalities: str = "2") -> str:
    return (f"{eid},{date},2016,1,Political violence,Explosions/Remote violence,Shelling,"
            f"Military Forces of Syria (2000-),,1,Civilians (Syria),,7,17,Civilian targeting,760,"
            f"Middle East,Syria,Lattakia,Lattakia,,{location},{lat},{lon},{geo},SOHR,National,"
            f"Shelling hit the town,{fatalities},,1618317040")
